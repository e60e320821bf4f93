"""Measure the generative backends side by side in one run: load time, prompt and generation
speed, time to the first token, peak memory, and the aggregate speed of 1, 2 and 4 requests at
once, each request in a worker-like process of its own."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from assistant.backends import BackendError
from assistant.backends.llama_server import server_command, wait_until_serving
from assistant.benchmarking.generation import peak_rss_mb

ROOT = Path(__file__).resolve().parents[3]
BACKENDS = ("transformers", "llama_cpp", "openai")


@dataclass
class Row:
    backend: str
    threads: int
    load_s: float
    prompt_tps: float
    tps: float
    first_token_s: float
    peak_rss_mb: float
    worker_rss_mb: float
    aggregate: dict[int, float]


def _int_list(option: str, value: str) -> list[int]:
    try:
        numbers = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise CommandError(f"{option}: a comma-separated list of positive integers, got {value!r}")
    return numbers


class Command(BaseCommand):
    help = (
        "Benchmark the generative backends in one run: transformers and llama.cpp in this "
        "machine's worker processes, and a llama.cpp server behind the openai backend."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--model", default="smollm2-135m-instruct")
        parser.add_argument(
            "--backends", default=",".join(BACKENDS), help=f"any of {', '.join(BACKENDS)}"
        )
        parser.add_argument("--threads", default="1", help="threads per process, e.g. 1,2")
        parser.add_argument("--concurrency", default="1,2,4", help="requests at once")
        parser.add_argument("--runs", type=int, default=3, help="requests per process")
        parser.add_argument(
            "--server-url",
            help="measure this OpenAI-compatible endpoint instead of starting llama_cpp.server",
        )
        parser.add_argument("--port", type=int, default=18765, help="for llama_cpp.server")

    def handle(self, *args, **options) -> None:
        backends = [b.strip() for b in options["backends"].split(",") if b.strip()]
        unknown = [b for b in backends if b not in BACKENDS]
        if not backends or unknown:
            raise CommandError(f"--backends: {unknown or 'none'} (known: {', '.join(BACKENDS)})")
        threads = _int_list("--threads", options["threads"])
        concurrency = _int_list("--concurrency", options["concurrency"])
        if options["runs"] < 1:
            raise CommandError("--runs: at least 1")
        self.runs = options["runs"]
        self.model = options["model"]
        plan = [(b, t) for b in backends for t in threads]
        steps = len(plan) * len(concurrency)
        rows: list[Row] = []
        with tqdm(total=steps, desc="Benchmarking", unit="measurement") as bar:
            for backend, count in plan:
                bar.set_postfix_str(f"{backend}, {count} thread(s)")
                try:
                    rows.append(self._backend_row(backend, count, concurrency, options, bar))
                except BackendError as exc:
                    tqdm.write(f"  {backend}: not measured ({exc})")
                    bar.update(len(concurrency))
        self._print(rows, concurrency)

    def _backend_row(
        self, backend: str, threads: int, concurrency: list[int], options: dict, bar: tqdm
    ) -> Row:
        if backend != "openai":
            profile = {"backend": backend, "model": self.model}
            env = {
                "LLAMA_CPP_THREADS": str(threads),
                "LLAMA_CPP_PROMPT_THREADS": str(threads),
                "TORCH_THREADS": str(threads),
            }
            return self._measure(backend, threads, profile, env, concurrency, bar, None)
        with self._server(options, threads) as (url, server_pid, load_s):
            profile = {
                "backend": "openai",
                "model": self.model,
                "base_url": url,
                "region": "on-premises",
                "timeout": 300,
                "retries": 0,
                "tokenizer": self.model if options["server_url"] is None else None,
            }
            row = self._measure(backend, threads, profile, {}, concurrency, bar, server_pid)
            row.load_s = load_s
            return row

    def _measure(
        self,
        backend: str,
        threads: int,
        profile: dict[str, Any],
        env: dict[str, str],
        concurrency: list[int],
        bar: tqdm,
        server_pid: int | None,
    ) -> Row:
        single: dict[str, Any] | None = None
        aggregate = {}
        for count in concurrency:
            outputs = self._processes(profile, env, count)
            runs = [r for output in outputs for r in output["runs"]]
            wall = max(r["ended"] for r in runs) - min(r["started"] for r in runs)
            aggregate[count] = sum(r["completion_tokens"] for r in runs) / wall
            if single is None or count == 1:
                single = outputs[0]
            bar.update(1)
        assert single is not None
        runs = single["runs"]
        return Row(
            backend=backend,
            threads=threads,
            load_s=single["load_s"],
            prompt_tps=statistics.median(r["prompt_tokens_per_s"] for r in runs),
            tps=statistics.median(r["tokens_per_s"] for r in runs),
            first_token_s=statistics.median(r["first_token_s"] for r in runs),
            peak_rss_mb=peak_rss_mb(server_pid) if server_pid else single["peak_rss_mb"],
            worker_rss_mb=single["worker_rss_mb"],
            aggregate=aggregate,
        )

    def _processes(self, profile: dict[str, Any], env: dict[str, str], count: int) -> list[dict]:
        """``count`` processes, each loading the backend and then generating ``runs`` answers,
        all started together once every one has loaded."""
        import os
        import tempfile

        with tempfile.TemporaryDirectory() as logs:
            children = []
            for position in range(count):
                # Their model loaders' chatter goes to a file, shown only if one fails.
                with Path(logs, f"{position}.log").open("w") as log:
                    child = subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "assistant.benchmarking.generation",
                            json.dumps(profile),
                            str(self.runs),
                            str(position * 1000),
                        ],
                        cwd=ROOT,
                        env={**os.environ, **env},
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log,
                        text=True,
                    )
                children.append(child)
            try:
                return self._together(children, profile["backend"], Path(logs))
            finally:
                for child in children:
                    child.kill()
                    child.wait()

    def _together(self, children: list[subprocess.Popen], backend: str, logs: Path) -> list[dict]:
        def failed(what: str, position: int) -> BackendError:
            tail = (logs / f"{position}.log").read_text()[-1500:]
            return BackendError(f"a {backend} process {what}:\n{tail}", permanent=True)

        for position, child in enumerate(children):
            if child.stdout.readline().strip() != "ready":
                raise failed("did not load", position)
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = []
        for position, child in enumerate(children):
            line = child.stdout.readline()
            if not line:
                raise failed("failed", position)
            outputs.append(json.loads(line))
        return outputs

    @contextmanager
    def _server(self, options: dict, threads: int):
        """An OpenAI-compatible server: the given URL, or llama_cpp.server with the model."""
        if options["server_url"]:
            yield options["server_url"].rstrip("/"), None, 0.0
            return
        port = options["port"]
        started = time.perf_counter()
        command = server_command(self.model, port=port, threads=threads)
        server = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        url = f"http://127.0.0.1:{port}/v1"
        try:
            wait_until_serving(url, server)
            yield url, server.pid, time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

    def _print(self, rows: list[Row], concurrency: list[int]) -> None:
        baseline = {r.threads: r for r in rows if r.backend == "transformers"}
        header = (
            f"{'backend':<13}{'threads':>8}{'load s':>8}{'prompt t/s':>12}{'gen t/s':>9}"
            f"{'first s':>9}{'model MB':>9}{'worker MB':>10}"
            + "".join(f"{f'{c} at once':>11}" for c in concurrency)
            + f"{'x gen t/s':>11}"
        )
        self.stdout.write(f"model {self.model}, {self.runs} requests per process")
        self.stdout.write(header)
        for row in rows:
            base = baseline.get(row.threads)
            ratio = f"x{row.tps / base.tps:.2f}" if base and base.tps else "-"
            self.stdout.write(
                f"{row.backend:<13}{row.threads:>8}{row.load_s:>8.2f}{row.prompt_tps:>12.1f}"
                f"{row.tps:>9.1f}{row.first_token_s:>9.2f}{row.peak_rss_mb:>9.0f}"
                f"{row.worker_rss_mb:>10.0f}"
                + "".join(f"{row.aggregate[c]:>11.1f}" for c in concurrency)
                + f"{ratio:>11}"
            )
        self.stdout.write(
            "gen t/s: generated tokens per second of one request, after its first token; "
            "'N at once': generated tokens per second of N requests together, one process "
            "each; model MB: peak memory of a process with the model loaded (for openai, the "
            "server's); worker MB: a worker process with it and the PII, refusal and embedding "
            "models, after generating; x gen t/s: against transformers with the same threads"
        )
