"""Several processes append at once; the chain must come out whole: no fork, no gap."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.db import connection

from compliance.models import AuditChainHead, AuditEvent
from compliance.services import audit_checkpoint_create, audit_verify
from tests.integration.conftest import ROOT, database_url

PROCESSES = 4
EVENTS_EACH = 60

APPENDER = textwrap.dedent(
    """
    import os, sys
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistant.settings")
    django.setup()
    from compliance.models import AuditEvent
    from compliance.services import audit_event_record
    worker = sys.argv[1]
    sys.stdin.readline()  # start together
    for i in range(int(sys.argv[2])):
        audit_event_record(
            actor=None,
            event_type=AuditEvent.Type.DOMAIN_SYNCED,
            outcome=AuditEvent.Outcome.SUCCESS,
            details={"worker": worker, "i": i},
        )
    """
)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_several_processes_form_one_chain():
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(n), str(EVENTS_EACH)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-2000:]

    total = PROCESSES * EVENTS_EACH
    seqs = list(AuditEvent.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))
    workers = AuditEvent.objects.values_list("details__worker", flat=True)
    assert sorted({str(w) for w in workers}) == [str(n) for n in range(PROCESSES)]
    # On PostgreSQL the appends interleave, or the test did not exercise concurrency at all
    # (SQLite's single writer lock tends to let one process finish its batch).
    order = [e.details["worker"] for e in AuditEvent.objects.order_by("seq")]
    switches = sum(1 for a, b in zip(order, order[1:], strict=False) if a != b)
    if connection.vendor == "postgresql":
        assert switches > PROCESSES
    assert AuditChainHead.objects.get().seq == total
    audit_checkpoint_create()
    report = audit_verify(record=False)
    assert report.ok, report.summary()
    assert report.events_checked == total
