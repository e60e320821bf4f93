"""LoRA fine-tuning of a packaged generative model on the CPU, and the profile it makes.

The model is trained (``peft``) on the float32 copy the transformers backend loads, with the
loss on the answer's tokens only; the adapter is then merged into the weights, which are
written three ways into the profile's folder: the adapter alone (``adapter/``, a few MB, for
the record), the merged model for the transformers backend (``hf/``) and a GGUF file for the
default backend, llama.cpp (``model.gguf``, 8-bit blocks as the packaged model is served).
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

from assistant.backends import BackendError
from assistant.backends.gguf_export import write_gguf
from assistant.backends.llama_cpp import _requantize
from assistant.backends.packaged import PREPARED_MODELS, file_sha256, gguf_file
from assistant.tuning.examples import TrainingExample

# The projections of every attention and feed-forward block of a Llama-family model.
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MANIFEST = "manifest.json"
GGUF_NAME = "model.gguf"


class TrainingError(Exception):
    pass


@dataclass(frozen=True)
class Hyperparameters:
    epochs: int = 3
    rank: int = 16
    learning_rate: float = 2e-4
    max_seq_length: int = 1536
    # Examples per optimizer step (one at a time, gradients accumulated: no padding).
    batch_size: int = 8
    max_steps: int = 0  # 0: as many as the epochs take
    seed: int = 0

    @property
    def alpha(self) -> int:
        return 2 * self.rank


@dataclass(frozen=True)
class _Sequence:
    # The instructions and worked examples: the same tokens for most of a domain's examples.
    prefix: tuple[int, ...]
    context: list[int]  # the rest of the prompt but its last token
    ids: list[int]  # the prompt's last token, then the answer
    labels: list[int]  # the answer's tokens, after -100 (no loss) for the prompt's last token


def _sequences(
    tokenizer, examples: Sequence[TrainingExample], max_length: int
) -> tuple[list[_Sequence], int]:
    """Each example as token ids: shared prefix, context and answer; and how many were longer
    than ``max_length`` and left out."""

    def tokens(messages: list[dict[str, str]], *, prompt: bool) -> list[int]:
        ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=prompt, tokenize=True, return_dict=False
        )
        return list(ids["input_ids"] if isinstance(ids, dict) else ids)

    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    sequences, too_long = [], 0
    for example in examples:
        prompt = tokens(example.messages, prompt=True)
        prefix = tokens(example.messages[:-1], prompt=False)
        if prompt[: len(prefix)] != prefix or len(prefix) >= len(prompt):
            prefix = []
        answer = tokenizer(example.target, add_special_tokens=False)["input_ids"] + [end]
        if len(prompt) + len(answer) > max_length:
            too_long += 1
            continue
        sequences.append(
            _Sequence(
                tuple(prefix),
                prompt[len(prefix) : -1],
                prompt[-1:] + answer,
                [-100] + answer,
            )
        )
    return sequences, too_long


def train(
    base: str,
    examples: Sequence[TrainingExample],
    output: Path,
    hyper: Hyperparameters,
    *,
    progress: Callable[[int], Callable[[float], None]] | None = None,
    report: Callable[[str], None] = lambda _: None,
) -> dict:
    """Fine-tune the packaged model ``base`` on ``examples`` into ``output``; return the
    manifest (also written to ``output/manifest.json``)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from assistant.backends.transformers_local import resolve

    if base not in PREPARED_MODELS:
        raise TrainingError(
            f"{base!r} is not a packaged model ({', '.join(PREPARED_MODELS)}): fine-tuning "
            "starts from one"
        )
    try:
        directory, base_version = resolve(base)
    except BackendError as exc:
        raise TrainingError(str(exc)) from None
    started = time.monotonic()
    if settings.TORCH_THREADS:
        torch.set_num_threads(settings.TORCH_THREADS)
    torch.manual_seed(hyper.seed)
    rng = random.Random(hyper.seed)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    sequences, too_long = _sequences(tokenizer, examples, hyper.max_seq_length)
    if not sequences:
        raise TrainingError(
            f"no example fits in --max-seq-length {hyper.max_seq_length} tokens ({too_long} longer)"
        )
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    model = get_peft_model(
        model,
        LoraConfig(
            r=hyper.rank,
            lora_alpha=hyper.alpha,
            lora_dropout=0.05,
            target_modules=list(TARGET_MODULES),
            task_type="CAUSAL_LM",
        ),
    )
    steps = hyper.epochs * -(-len(sequences) // hyper.batch_size)
    if hyper.max_steps:
        steps = min(steps, hyper.max_steps)
    losses = _optimize(model, sequences, steps, hyper, rng, progress)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output / "adapter")
    merged = model.merge_and_unload()
    merged.save_pretrained(output / "hf", safe_serialization=True)
    tokenizer.save_pretrained(output / "hf")
    report("writing the GGUF file for llama.cpp")
    state = {name: tensor.detach().numpy() for name, tensor in merged.state_dict().items()}
    full = output / "model.f32.gguf"
    write_gguf(state, gguf_file(base), full)
    _requantize(full, output / GGUF_NAME)
    full.unlink()
    manifest = {
        "base_model": base,
        "base_model_sha256": file_sha256(gguf_file(base)),
        "base_weights_version": base_version,
        "data_sha256": "",  # the caller knows what the examples were made from
        "examples": len(sequences),
        "examples_too_long": too_long,
        "answerable_examples": sum(e.answerable for e in examples),
        "hyperparameters": {**asdict(hyper), "alpha": hyper.alpha},
        "target_modules": list(TARGET_MODULES),
        "steps": steps,
        "first_loss": round(losses[0], 4),
        "final_loss": round(sum(losses[-5:]) / len(losses[-5:]), 4),
        "training_seconds": round(time.monotonic() - started, 1),
        "weights_sha256": file_sha256(output / GGUF_NAME),
    }
    return manifest


def _optimize(
    model, sequences: list[_Sequence], steps: int, hyper: Hyperparameters, rng, progress
) -> list[float]:
    """AdamW over the adapter's weights, warming up over a tenth of the steps and decaying to
    zero; the mean loss of each step."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=hyper.learning_rate, weight_decay=0.0)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (steps - step) / steps)
    )
    tick = progress(steps) if progress else (lambda _: None)
    model.train()
    losses: list[float] = []
    order: list[_Sequence] = []
    while len(losses) < steps:
        step_loss = 0.0
        prefixes = _PrefixStates(model)
        for _ in range(hyper.batch_size):
            if not order:
                order = list(sequences)
                rng.shuffle(order)
            sequence = order.pop()
            loss = (
                model(
                    input_ids=torch.tensor([sequence.ids]),
                    labels=torch.tensor([sequence.labels]),
                    cache=prefixes.read(sequence.prefix, sequence.context),
                ).loss
                / hyper.batch_size
            )
            loss.backward()
            step_loss += float(loss.item())
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(step_loss)
        tick(step_loss)
    return losses


class _PrefixStates:
    """The prompt is read without gradients, with the step's weights; the loss and its
    gradients come from the answer's positions only. The adapter learns what the answer
    positions do with the prompt they attend to (which evidence to copy, the marker, when to
    abstain), not how the prompt's own positions are computed. Training this way is several
    times faster: the shared prefix (instructions and worked examples, most of each prompt) is
    computed once per optimizer step, the rest of each prompt once and forward only, and the
    backward pass runs over a few dozen tokens instead of hundreds."""

    def __init__(self, model) -> None:
        self.model = model
        self.states: dict[tuple[int, ...], object] = {}

    def read(self, prefix: tuple[int, ...], context: list[int]):
        """The state after ``prefix`` and ``context``, for the answer's forward pass."""
        import torch

        with torch.no_grad():
            state = None
            if prefix:
                if prefix not in self.states:
                    output = self.model(input_ids=torch.tensor([prefix]), use_cache=True)
                    self.states[prefix] = output.cache
                # A forward pass appends to the state it is given: each example gets a copy.
                state = copy.deepcopy(self.states[prefix])
            if context:
                state = self.model(
                    input_ids=torch.tensor([context]), cache=state, use_cache=True
                ).cache
        return state


def write_manifest(output: Path, manifest: dict) -> None:
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2))
