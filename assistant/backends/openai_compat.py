"""A model behind an OpenAI-compatible chat-completions endpoint: vLLM, llama.cpp's server,
TGI, Ollama or a hosted API. This is how a deployment puts its models on machines of their own.

Only the redacted prompt leaves the worker. Neither the request nor the response body is ever
logged or put in an error message: errors name the endpoint, the status and the attempt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from assistant.backends import BackendError, Generation

logger = logging.getLogger(__name__)

# Statuses worth another attempt: the server is busy, restarting or briefly unreachable.
TRANSIENT_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}
# Without the model's tokenizer, a prompt is counted as one token per this many characters:
# English BPE vocabularies average about four, so three over-counts and the prompt stays in
# the server's context.
CHARACTERS_PER_TOKEN = 3
# Per message: the chat template's role markers.
TOKENS_PER_MESSAGE = 6
MAX_RETRY_AFTER = 10.0


def _api_key(profile: dict[str, Any]) -> str | None:
    """The key named by the profile (an environment variable or a file), never the YAML's own
    text: a definition that held a key would put it in every copy of the catalog."""
    if profile.get("api_key_env"):
        name = profile["api_key_env"]
        value = os.environ.get(name)
        if not value:
            raise BackendError(
                f"environment variable {name} (api_key_env) is empty", permanent=True
            )
        return value.strip()
    if profile.get("api_key_file"):
        path = Path(profile["api_key_file"])
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise BackendError(
                f"api_key_file {path} cannot be read ({exc.strerror})", permanent=True
            ) from None
    return None


class OpenAICompatibleBackend:
    def __init__(self, profile: dict[str, Any]) -> None:
        self.base_url = profile["base_url"].rstrip("/")
        self.model_id = profile["model"]
        self.model_version = "remote"
        self.timeout = float(profile.get("timeout") or 60)
        self.retries = int(profile.get("retries", 2))
        key = _api_key(profile)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        # The connect timeout is short: an endpoint that does not answer is retried, or the
        # inquiry goes back to the queue, rather than holding a worker for the whole timeout.
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
        )
        self._tokenizer = profile.get("tokenizer")
        self._model_checked = False
        self._lock = threading.Lock()

    @classmethod
    def key(cls, profile: dict[str, Any]) -> str:
        """One backend per distinct profile: two that differ only in timeout or retries must
        not share the first one's settings."""
        return hashlib.sha256(json.dumps(profile, sort_keys=True).encode()).hexdigest()

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        if self._tokenizer:
            from assistant.backends.llama_cpp import chat_tokenizer

            return chat_tokenizer(self._tokenizer).count(messages)
        return sum(
            TOKENS_PER_MESSAGE + math.ceil(len(m["content"]) / CHARACTERS_PER_TOKEN)
            for m in messages
        )

    def _with_retries(self, attempt: Callable[[], Any]) -> Any:
        """``attempt()`` until it succeeds or fails for good: transient failures (connection,
        timeout, 429, 5xx) are tried ``retries`` more times, then raised as transient."""
        for number in range(self.retries + 1):
            try:
                return attempt()
            except BackendError as exc:
                if exc.permanent or number == self.retries:
                    raise
                delay = exc.retry_after or 0.5 * 2**number
                logger.warning("%s; attempt %d of %d", exc, number + 1, self.retries + 1)
                time.sleep(min(delay, MAX_RETRY_AFTER))
        raise AssertionError("unreachable")

    def _check_model(self) -> None:
        """A server that does not serve the model is a permanent failure. Some servers answer
        any model name with their one model, so ask which they serve."""
        if self._model_checked:
            return

        def attempt() -> None:
            try:
                response = self._client.get("/models")
            except httpx.HTTPError as exc:
                raise _transport_error(exc, self.base_url) from None
            if response.status_code == 404:
                return  # the server does not list its models; the completion will tell
            _raise_for_status(response, self.base_url)
            try:
                served = [m.get("id") for m in response.json().get("data", [])]
            except (ValueError, AttributeError):
                raise BackendError(
                    f"{self.base_url}/models is not an OpenAI model list", permanent=True
                ) from None
            if self.model_id not in served:
                raise BackendError(
                    f"{self.base_url} does not serve model {self.model_id!r} "
                    f"(it serves {', '.join(map(str, served)) or 'none'})",
                    permanent=True,
                )

        self._with_retries(attempt)
        self._model_checked = True

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        max_new_tokens: int,
        on_text: Callable[[str], None] | None = None,
        stop: Callable[[str], bool] | None = None,
        shared_prefix: int = 0,
    ) -> Generation:
        # shared_prefix: servers with prefix caching (vLLM, llama.cpp) find the shared prefix
        # themselves.
        with self._lock:
            self._check_model()
        body = {
            "model": self.model_id,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        return self._with_retries(lambda: self._complete(body, messages, on_text, stop))

    def _complete(
        self,
        body: dict[str, Any],
        messages: list[dict[str, str]],
        on_text: Callable[[str], None] | None,
        stop: Callable[[str], bool] | None,
    ) -> Generation:
        text, usage, fingerprint, chunks = "", {}, None, 0
        try:
            with self._client.stream("POST", "/chat/completions", json=body) as response:
                _raise_for_status(response, self.base_url)
                for event in _server_sent_events(response.iter_lines()):
                    if "error" in event:
                        raise BackendError(
                            f"{self.base_url} reported an error while generating", permanent=False
                        )
                    usage = event.get("usage") or usage
                    fingerprint = event.get("system_fingerprint") or fingerprint
                    for choice in event.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content") or ""
                        if piece:
                            text += piece
                            chunks += 1
                            if on_text:
                                on_text(text)
                    if stop and text and stop(text):
                        break  # leaving the block closes the stream: the server stops too
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.base_url) from None
        return Generation(
            text=text.strip(),
            model_id=self.model_id,
            model_version=f"remote:{fingerprint}" if fingerprint else self.model_version,
            prompt_tokens=int(usage.get("prompt_tokens") or self.count_tokens(messages)),
            completion_tokens=int(usage.get("completion_tokens") or chunks),
        )


def _server_sent_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a chat-completions event stream, up to ``[DONE]``."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except json.JSONDecodeError:
            raise BackendError(
                "the endpoint sent an event that is not JSON", permanent=False
            ) from None


def _raise_for_status(response: httpx.Response, base_url: str) -> None:
    status = response.status_code
    if status < 400:
        return
    retry_after = response.headers.get("Retry-After", "")
    raise BackendError(
        f"{base_url} answered HTTP {status}",
        permanent=status not in TRANSIENT_STATUSES,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
    )


def _transport_error(exc: httpx.HTTPError, base_url: str) -> BackendError:
    # Connection refused or reset, timeouts, a stream cut short: the endpoint may be back soon.
    return BackendError(f"{base_url} unreachable ({type(exc).__name__})", permanent=False)
