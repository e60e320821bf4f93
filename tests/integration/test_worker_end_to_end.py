"""An inquiry through the real queue and a real Celery worker process, against the configured
database and broker (PostgreSQL and Redis in CI; SQLite and the SQLite broker otherwise)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from assistant.selectors import inquiry_content
from compliance.models import AuditEvent
from compliance.services import audit_verify
from tests.assistant.test_pipeline import all_text_in_database
from tests.conftest import token_client
from tests.integration.conftest import broker_messages, wait_until_finished

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUESTION = (
    "My patient John Smith, MRN 4455667, had his records exposed. How long does a covered entity "
    "have to notify individuals of a breach of unsecured PHI?"
)
CANARIES = ["John Smith", "4455667"]
UNANSWERABLE = "What is the maximum dollar fine per HIPAA violation?"


def test_an_inquiry_is_answered_by_a_real_worker_and_no_store_holds_the_pii(
    catalog_domains, clinician, tmp_path, request
):
    response = token_client(clinician).post(
        "/api/v1/inquiries",
        {"domain": "healthcare", "jurisdiction": "US", "question": QUESTION},
        format="json",
    )
    assert response.status_code == 202
    inquiry_id = response.json()["id"]
    unanswerable_id = (
        token_client(clinician)
        .post(
            "/api/v1/inquiries",
            {"domain": "healthcare", "jurisdiction": "US", "question": UNANSWERABLE},
            format="json",
        )
        .json()["id"]
    )

    # The message waits in the broker until the worker starts: it carries the id and no content.
    messages = broker_messages()
    assert any(inquiry_id in message for message in messages)
    for canary in CANARIES:
        assert not any(canary in message for message in messages)

    worker = request.getfixturevalue("worker")
    inquiry = wait_until_finished(inquiry_id, worker)

    assert inquiry.status == "answered", (
        inquiry.failure_reason,
        worker.log_path.read_text()[-3000:],
    )
    answer = inquiry_content(inquiry, viewer=clinician)["answer"]
    # The delivered answer states the 60 days in the rule's own words and cites the rule.
    assert "60 calendar days" in answer
    retrieved = AuditEvent.objects.get(inquiry_id=inquiry_id, event_type="inquiry.retrieved")
    assert retrieved.details["passage_ids"][0] == "hc-hipaa-164-404-b"
    detail = token_client(clinician).get(f"/api/v1/inquiries/{inquiry_id}").json()
    assert detail["grounding"] in {"verified", "quoted"}
    assert "45 CFR 164.404(b)" in [c["citation"] for c in detail["citations"]]
    quoted = next(c for c in detail["citations"] if c["citation"] == "45 CFR 164.404(b)")
    assert "60 calendar days" in quoted["quote"] and f'"{quoted["quote"]}"' in answer
    assert detail["status"] == "answered"
    assert detail["redacted_question"].startswith(
        "My patient <PERSON_1>, MRN <MEDICAL_RECORD_NUMBER_1>,"
    )
    assert detail["redactions"]["question"] == {"MEDICAL_RECORD_NUMBER": 1, "PERSON": 1}
    assert detail["answer"] == answer

    assert list(
        AuditEvent.objects.filter(inquiry_id=inquiry_id).values_list("event_type", flat=True)
    ) == [
        "inquiry.received",
        "inquiry.screened",
        "inquiry.policy_decided",
        "inquiry.retrieved",
        "inquiry.evidence_selected",
        "inquiry.generated",
        "inquiry.verified",
        "inquiry.output_screened",
        "inquiry.answered",
    ]
    # A question the sources do not answer is abstained on, with no model call.
    unanswered = wait_until_finished(unanswerable_id, worker)
    assert (unanswered.status, unanswered.grounding) == ("answered", "abstained")
    assert inquiry_content(unanswered, viewer=clinician)["answer"].startswith(
        "The sources for this domain and jurisdiction do not answer this question."
    )
    stored = all_text_in_database()
    worker_log = worker.log_path.read_text()
    assert "Task assistant.tasks.inquiry_run[" in worker_log and "succeeded" in worker_log
    for canary in CANARIES:
        assert canary not in stored
        assert canary not in worker_log
    assert not any(inquiry_id in message for message in broker_messages())


def test_killing_the_worker_mid_task_loses_nothing_and_answers_once(
    catalog_domains, clinician, request
):
    worker = request.getfixturevalue("worker")
    response = token_client(clinician).post(
        "/api/v1/inquiries",
        {"domain": "healthcare", "jurisdiction": "US", "question": QUESTION},
        format="json",
    )
    inquiry_id = response.json()["id"]
    deadline = time.monotonic() + 120
    while not AuditEvent.objects.filter(
        inquiry_id=inquiry_id, event_type="inquiry.retrieved"
    ).exists():
        assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
        time.sleep(0.1)
    children = subprocess.run(
        ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True
    ).stdout.split()
    assert children, "the worker has no pool process"
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)  # the process running the inquiry dies mid-generation

    inquiry = wait_until_finished(inquiry_id, worker)
    assert inquiry.status == "answered", (
        inquiry.failure_reason,
        worker.log_path.read_text()[-3000:],
    )
    assert inquiry.attempts == 2
    types = list(
        AuditEvent.objects.filter(inquiry_id=inquiry_id).values_list("event_type", flat=True)
    )
    assert types.count("inquiry.answered") == 1
    assert types.count("inquiry.screened") == 2  # the second attempt starts over
    assert "WorkerLostError" in worker.log_path.read_text()
    # The killed process held the chain lock or not; either way the trail is whole.
    report = audit_verify(record=False)
    assert report.ok, report.summary()
