"""A worker whose PII detection fails its self-test must not start (fail closed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.integration.conftest import ROOT

pytestmark = pytest.mark.slow

# A worker whose detection misses a type a policy names: its analyzer is broken in this process.
BROKEN_DETECTION_WORKER = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistant.settings")
from assistant.celery import app
from compliance import pii

def self_test(entities):
    raise pii.PiiSelfTestError("PII self-test failed for language en: not detected: US_SSN")

pii.self_test = self_test
app.worker_main(["worker", "--concurrency", "1", "--queues", "boot-test",
                 "--without-mingle", "--without-gossip"])
"""


def test_a_worker_whose_pii_self_test_fails_does_not_start():
    result = subprocess.run(
        [sys.executable, "-c", BROKEN_DETECTION_WORKER],
        cwd=ROOT,
        env={**os.environ, "ASSISTANT_WARM_MODELS": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "worker not started: PII self-test failed" in result.stderr
    assert "ready." not in result.stderr
