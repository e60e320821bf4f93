"""The web server as bin/up runs it (uvicorn, ASGI) under one user's open streams and waits:
health checks and logins must still answer. Under the threaded WSGI server of before, 20 open
streams took every thread and both timed out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from assistant.models import ApiToken
from tests.conftest import make_user, running_inquiry
from tests.integration.conftest import ROOT, database_url, stop_process

STREAMS = 50
WAITS = 50


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web_server(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        # The per-user cap would refuse most of them: the server itself is under test here.
        "LONG_REQUESTS_PER_USER": str(STREAMS + WAITS + 10),
        "INQUIRY_STREAM_SECONDS": "120",
        "INQUIRY_MAX_WAIT_SECONDS": "60",
    }
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "assistant.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                "--lifespan", "off", "--no-proxy-headers",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code < 500:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"uvicorn did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    yield base
    stop_process(process, timeout=20)


def _hold_stream(url: str, headers: dict, opened: threading.Barrier, done: threading.Event):
    with httpx.Client(timeout=30) as client, client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, response.read()
        first = next(response.iter_lines())
        opened.wait(timeout=60)
        done.wait(timeout=90)
        return response.status_code, first


def _hold_wait(url: str, headers: dict, started: threading.Barrier) -> int:
    with httpx.Client(timeout=60) as client:
        started.wait(timeout=60)
        return client.get(url, headers=headers).status_code


def _ended(streams, waits) -> list[str]:
    """What each request that ended too early ended with, for the failure message."""
    ended = []
    for kind, futures in (("stream", streams), ("wait", waits)):
        for future in futures:
            if future.done():
                error = future.exception()
                ended.append(f"{kind}: {error!r}" if error else f"{kind}: {future.result()!r}")
    return ended


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_health_and_login_answer_while_one_user_holds_50_streams_and_50_waits(
    catalog_domains, web_server
):
    user = make_user("streamer", "clinician")
    _, secret = ApiToken.objects.create(user=user)
    inquiry = running_inquiry(user, catalog_domains["healthcare"])
    headers = {"Authorization": f"Token {secret}"}
    stream_url = f"{web_server}/api/v1/inquiries/{inquiry.id}/stream"
    wait_url = f"{web_server}/api/v1/inquiries/{inquiry.id}?wait=30"

    opened = threading.Barrier(STREAMS + 1)
    started = threading.Barrier(WAITS + 1)
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=STREAMS + WAITS) as pool:
        streams = [
            pool.submit(_hold_stream, stream_url, headers, opened, done) for _ in range(STREAMS)
        ]
        waits = [pool.submit(_hold_wait, wait_url, headers, started) for _ in range(WAITS)]
        try:
            # Every stream has sent its first event and stays open; every wait has been sent.
            opened.wait(timeout=60)
            started.wait(timeout=60)
            time.sleep(1)
            assert not any(f.done() for f in streams + waits), _ended(streams, waits)

            timings = {}
            for name, call in {
                "health": lambda: httpx.get(f"{web_server}/api/v1/health", timeout=5),
                "login page": lambda: httpx.get(f"{web_server}/accounts/login/", timeout=5),
                "token login": lambda: httpx.post(
                    f"{web_server}/api/v1/auth/token",
                    json={"username": "streamer", "password": "streamer-password-123"},
                    timeout=5,
                ),
            }.items():
                began = time.monotonic()
                response = call()
                timings[name] = time.monotonic() - began
                assert response.status_code < 300, (name, response.status_code, response.text)
            assert all(seconds < 1.0 for seconds in timings.values()), timings
            # Waiting costs no database connection each: fifty streams holding one apiece
            # exhausted PostgreSQL's default max_connections of 100 (500s under load).
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    )
                    assert cursor.fetchone()[0] < 40
            assert not any(f.done() for f in streams)
        finally:
            done.set()
            opened.abort()
            started.abort()
        for future in streams:
            status, first = future.result(timeout=60)
            assert status == 200 and first.startswith("id: ")
        assert all(future.result(timeout=60) == 200 for future in waits)
    # Every stream the clients closed and every wait that ended gave its slot back.
    deadline = time.monotonic() + 10
    while cache.get(f"long-requests:{user.pk}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cache.get(f"long-requests:{user.pk}") == 0
