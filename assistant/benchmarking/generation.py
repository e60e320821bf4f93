"""One process of ``generation_benchmark``: loads one backend and the rest of a worker's models,
as a worker process would, waits for the word to start, generates, and prints what it measured
as one line of JSON.

Run as ``python -m assistant.benchmarking.generation PROFILE_JSON RUNS``. A fresh process per
measurement keeps load time and peak memory its own; several at once are what several worker
processes do with the machine's cores.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[2] / "domains" / "catalog" / "healthcare" / "corpus.jsonl"
QUESTION = "For each numbered passage, say in one sentence what it requires."
PASSAGES = 5
NEW_TOKENS = 128


def benchmark_messages(run: int) -> list[dict[str, str]]:
    """A prompt the size of the service's: the domain's instructions, five passages of the
    healthcare corpus and a question that asks for a long answer. ``run`` makes each prompt
    differ from the first token on, so that no backend reuses an earlier one's computed prefix:
    prompt processing is measured whole every time."""
    lines = CORPUS.read_text().splitlines()[:PASSAGES]
    passages = [json.loads(line) for line in lines]
    evidence = "\n\n".join(
        f"[{n}] {p['metadata']['citation']}: {p['text']}" for n, p in enumerate(passages, 1)
    )
    return [
        {
            "role": "system",
            "content": f"Request {run}. You are a healthcare privacy assistant. Answer from "
            "the numbered evidence only and cite it with [n] markers.",
        },
        {"role": "user", "content": f"Evidence:\n{evidence}\n\nQuestion: {QUESTION}"},
    ]


def peak_rss_mb(pid: int | str = "self", field: str = "VmHWM") -> float:
    """The process's peak resident memory (``VmHWM``; ``VmRSS`` for the present one), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_models_load() -> None:
    """What else a worker process holds: the PII analyzer, the refusal classifier and the
    embedding model (worker_boot.models_warm without the database)."""
    from assistant.inquiries.pipeline.decide import refusal_classifier
    from compliance import pii
    from domains.embeddings import DEFAULT_EMBEDDING_MODEL, embedder

    pii.analyzer()
    refusal_classifier().warm()
    embedder(DEFAULT_EMBEDDING_MODEL)


def measure(backend: Any, runs: int, offset: int) -> list[dict[str, float]]:
    results = []
    for run in range(runs):
        messages = benchmark_messages(offset + run)
        first: list[float] = []
        started = time.perf_counter()

        def on_text(_: str, first: list[float] = first) -> None:
            if not first:
                first.append(time.perf_counter())

        generation = backend.generate(messages, max_new_tokens=NEW_TOKENS, on_text=on_text)
        ended = time.perf_counter()
        first_at = first[0] if first else ended
        decode_tokens = max(generation.completion_tokens - 1, 0)
        results.append(
            {
                "prompt_tokens": generation.prompt_tokens,
                "completion_tokens": generation.completion_tokens,
                "first_token_s": first_at - started,
                # The first token comes once the whole prompt is processed.
                "prompt_tokens_per_s": generation.prompt_tokens / (first_at - started),
                "tokens_per_s": decode_tokens / (ended - first_at) if ended > first_at else 0.0,
                "started": started + time.time() - time.perf_counter(),
                "ended": ended + time.time() - time.perf_counter(),
            }
        )
    return results


def main(profile_json: str, runs: str, offset: str = "0") -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistant.settings")
    django.setup()
    from assistant.backends import backend_for

    profile = json.loads(profile_json)
    started = time.perf_counter()
    backend = backend_for(profile)
    load_s = time.perf_counter() - started
    model_mb = peak_rss_mb()
    worker_models_load()
    print("ready", flush=True)
    sys.stdin.readline()  # the word to start: all processes of a measurement begin together
    results = measure(backend, int(runs), int(offset))
    print(
        json.dumps(
            {
                "load_s": load_s,
                "peak_rss_mb": model_mb,
                "worker_rss_mb": peak_rss_mb(field="VmRSS"),
                "runs": results,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
