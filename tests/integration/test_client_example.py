"""The documented Python client (examples/ask.py, docs/api.md), run as a user would, against the live server
and a real worker: it logs in, asks, follows the stream (status, any draft), then prints the answer
and its sources."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assistant import roles
from tests.conftest import make_user
from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_readme_client_streams_and_prints_a_cited_answer(catalog_domains, live_server, request):
    make_user("clinician", roles.CLINICIAN)
    request.getfixturevalue("worker")
    result = subprocess.run(
        [
            sys.executable,
            "examples/ask.py",
            "My patient John Smith had his chart exposed. How long does a covered entity have "
            "to notify individuals of a breach of unsecured PHI?",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "ASSISTANT_URL": live_server.url,
            "ASSISTANT_USER": "clinician",
            "ASSISTANT_PASSWORD": "clinician-password-123",
        },
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    draft, separator, final = result.stdout.partition("=" * 70)
    # The draft is a preview: a grounded answer is about 13 tokens, often written and verified
    # between two looks of the stream, so the draft may be empty. The answer never is.
    assert separator and final.lstrip().startswith("ANSWERED: ")
    assert not draft.strip() or "ANSWERED" not in draft
    assert "60" in final and "45 CFR 164.404" in final
    assert "Redacted before the model saw it: 1 name" in final
    assert "[queued" in result.stderr or "[running" in result.stderr
