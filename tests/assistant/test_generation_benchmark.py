"""generation_benchmark: backends measured in worker-like processes, one table in one run."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threads": "0"}, "--threads: a comma-separated list of positive integers"),
        ({"concurrency": "two"}, "--concurrency: a comma-separated list"),
        ({"backends": "tensorrt"}, "--backends: \\['tensorrt'\\]"),
        ({"runs": 0}, "--runs: at least 1"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("generation_benchmark", **options)


@pytest.mark.slow
def test_a_local_backend_and_a_server_are_measured_side_by_side():
    out = io.StringIO()
    call_command(
        "generation_benchmark",
        backends="llama_cpp,openai",
        concurrency="1,2",
        runs=1,
        port=18766,
        stdout=out,
    )
    rows = {
        line.split()[0]: line.split()
        for line in out.getvalue().splitlines()
        if re.match(r"(llama_cpp|openai) +1 ", line)
    }
    assert set(rows) == {"llama_cpp", "openai"}
    for values in rows.values():
        load, prompt_tps, tps, first, model_mb, worker_mb, one, two = map(float, values[2:10])
        assert prompt_tps > 0 and tps > 0 and first > 0 and one > 0 and two > 0
        assert 50 < model_mb < worker_mb
    # No transformers row in this run: no ratio to print.
    assert rows["llama_cpp"][-1] == "-"
