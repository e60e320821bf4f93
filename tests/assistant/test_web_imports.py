"""The web process serves pages and the API; it never retrieves, embeds or generates, so it
must not load the index and model libraries (hundreds of MB and seconds per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = [
    "faiss",
    "bm25s",
    "torch",
    "transformers",
    "sentence_transformers",
    "presidio_analyzer",
    "llama_cpp",
]

PROBE = f"""
import json, sys
import assistant.wsgi
from django.urls import get_resolver
get_resolver().url_patterns  # every view module the URLconf names
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def test_the_web_stack_loads_no_index_or_model_library():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "assistant.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
