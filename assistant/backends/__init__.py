"""Model backends: what runs a domain's SLM. One module per backend, one error type."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
_loading = threading.Lock()


def load_once(cache: dict[str, T], key: str, load: Callable[[], T]) -> T:
    """``cache[key]``, made by ``load()`` the first time: a process loads each model once,
    however many threads ask for it at the same moment."""
    if key not in cache:
        with _loading:
            if key not in cache:
                cache[key] = load()
    return cache[key]


class BackendError(Exception):
    """A backend failure. ``permanent`` failures stop the inquiry; others are retried.

    The message must never quote the prompt or the output.
    """

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        # Seconds the server asked us to wait before trying again, when it said.
        self.retry_after = retry_after


@dataclass(frozen=True)
class Generation:
    text: str
    model_id: str
    model_version: str
    prompt_tokens: int
    completion_tokens: int


class ModelBackend(Protocol):
    model_id: str
    model_version: str

    def count_tokens(self, messages: list[dict[str, str]]) -> int: ...

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_new_tokens: int,
        on_text: Callable[[str], None] | None = None,
        stop: Callable[[str], bool] | None = None,
        shared_prefix: int = 0,
    ) -> Generation:
        """The completion. ``on_text``, if given, receives the completion so far after each
        generated token; ``stop``, if given, also receives it and ends the generation when it
        returns True. The first ``shared_prefix`` messages are the same for many requests
        (instructions, worked examples) and hold no request's content: a backend may keep
        what it computed for them."""
        ...


_remote: dict[str, ModelBackend] = {}


def backend_for(profile: dict[str, Any]) -> ModelBackend:
    """The backend a model profile names, created once per process (models load once)."""
    backend = profile.get("backend", "transformers")
    if backend == "llama_cpp":
        from assistant.backends.llama_cpp import LlamaCppBackend

        return LlamaCppBackend.for_model(profile["model"])
    if backend == "transformers":
        from assistant.backends.transformers_local import TransformersBackend

        return TransformersBackend.for_model(profile["model"])
    if backend == "openai":
        from assistant.backends.openai_compat import OpenAICompatibleBackend

        key = OpenAICompatibleBackend.key(profile)
        return load_once(_remote, key, lambda: OpenAICompatibleBackend(profile))
    raise BackendError(f"unknown model backend {backend!r}", permanent=True)
