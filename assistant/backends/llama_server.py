"""llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) on this machine:
how to start it with a prepared model and know when it serves. The generation benchmark and
the tests use it as the endpoint of the ``openai`` backend."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request

from assistant.backends import BackendError
from assistant.backends.llama_cpp import prepared_gguf


def server_command(
    model: str, *, port: int, threads: int = 1, api_key: str | None = None
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(prepared_gguf(model)[0]),
        "--model_alias",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        # By default a new request cuts off the one being answered; a shared server must finish
        # each answer and let the next wait.
        "--interrupt_requests",
        "False",
    ]
    return command + (["--api_key", api_key] if api_key else [])


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    """Until ``url``/models answers, or raise if the server exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BackendError(f"llama_cpp.server exited with {server.returncode}", permanent=True)
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return  # it answers, if only to refuse a request without its API key
        except OSError:
            time.sleep(0.2)
    raise BackendError(
        f"llama_cpp.server did not answer at {url} in {timeout:.0f} s", permanent=True
    )
