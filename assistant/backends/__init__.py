"""Model backends: what runs a domain's SLM. One module per backend, one error type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class BackendError(Exception):
    """A backend failure. ``permanent`` failures stop the inquiry; others are retried.

    The message must never quote the prompt or the output.
    """

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


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


def backend_for(profile: dict[str, Any]) -> ModelBackend:
    backend = profile.get("backend", "transformers")
    if backend == "transformers":
        from assistant.backends.transformers_local import TransformersBackend

        return TransformersBackend.for_model(profile["model"])
    raise BackendError(f"unknown model backend {backend!r}", permanent=True)
