"""An inquiry through the real queue and a real Celery worker process, against the configured
database and broker (PostgreSQL and Redis in CI; SQLite and the SQLite broker otherwise)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from assistant.celery import app as celery_app
from assistant.models import Inquiry
from assistant.selectors import inquiry_content
from compliance.models import AuditEvent
from tests.assistant.test_pipeline import all_text_in_database
from tests.conftest import TEST_QUEUE, token_client

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUESTION = (
    "My patient John Smith, MRN 4455667, had his records exposed. How long does a covered entity "
    "have to notify individuals of a breach of unsecured PHI?"
)
CANARIES = ["John Smith", "4455667"]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def broker_messages() -> list[str]:
    """Each message waiting in the test queue, raw and with its body decoded."""
    broker = celery_app.conf.broker_url
    if broker.startswith("redis"):
        import redis

        raw = [m.decode() for m in redis.Redis.from_url(broker).lrange(TEST_QUEUE, 0, -1)]
    else:
        import sqlalchemy

        engine = sqlalchemy.create_engine(broker.removeprefix("sqla+"))
        with engine.connect() as db:
            raw = [
                row[0]
                for row in db.execute(
                    sqlalchemy.text("SELECT payload FROM kombu_message WHERE visible = 1")
                )
            ]
    decoded = []
    for message in raw:
        envelope = json.loads(message)
        decoded += [message, base64.b64decode(envelope["body"]).decode()]
    return decoded


LEASE_SECONDS = 15


@pytest.fixture
def worker(tmp_path):
    log_path = tmp_path / "worker.log"
    env = {
        # Short, so the test of a killed worker does not wait long for the lease to expire.
        "INQUIRY_LEASE_SECONDS": str(LEASE_SECONDS),
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": celery_app.conf.broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": TEST_QUEUE,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "ASSISTANT_INDEX_DIR": str(tmp_path / "worker-indexes"),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "assistant",
                "worker",
                "--queues",
                TEST_QUEUE,
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log_path = log_path
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_finished(inquiry_id, worker, timeout: float = 240) -> Inquiry:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inquiry = Inquiry.objects.get(pk=inquiry_id)
        if inquiry.is_finished:
            return inquiry
        assert worker.poll() is None, f"worker exited:\n{worker.log_path.read_text()[-3000:]}"
        time.sleep(1)
    raise AssertionError(
        f"inquiry not finished in {timeout} s; worker log:\n{worker.log_path.read_text()[-3000:]}"
    )


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
    assert "60" in answer
    assert "hc-hipaa-164-404-b" in [c["passage_id"] for c in inquiry.citations]
    detail = token_client(clinician).get(f"/api/v1/inquiries/{inquiry_id}").json()
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
        "inquiry.generated",
        "inquiry.output_screened",
        "inquiry.answered",
    ]
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
