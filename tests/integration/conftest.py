"""Fixtures for tests that run a real Celery worker process against the configured database
and broker."""

from __future__ import annotations

import base64
import json
import os
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
from tests.conftest import TEST_QUEUE

ROOT = Path(__file__).resolve().parents[2]


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
        "CELERY_DOCUMENTS_QUEUE": TEST_QUEUE,
        "CELERY_MAINTENANCE_QUEUE": TEST_QUEUE,
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
    stop_process(process)


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """Ask a server or worker started by a fixture to stop; kill it if it does not."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
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
