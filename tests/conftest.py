from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from assistant import roles
from assistant.celery import app as celery_app


def _shared_data() -> Path:
    """The workplace's shared data (regulatory texts, ObliQA): beside the checkout, or where
    SHARED_DATA_DIR says (a clone elsewhere, e.g. a CI check in /tmp)."""
    candidates = [
        os.environ.get("SHARED_DATA_DIR", ""),
        Path(__file__).resolve().parent.parent.parent / "shared" / "data",
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(candidates[1])


SHARED_DATA = _shared_data()

# Tests publish to a queue of their own, so a worker of a running service never takes their
# tasks and their worker never takes the service's. Set before any task is sent.
TEST_QUEUE = f"test-{uuid.uuid4().hex[:12]}"
celery_app.conf.task_default_queue = TEST_QUEUE
# Every task to that one queue (the routing itself is tested in tests/assistant/test_queues.py).
SERVICE_TASK_ROUTES = celery_app.conf.task_routes
celery_app.conf.task_routes = {}
if f"sqla+sqlite:///{settings.EMBEDDED_BROKER_PATH}" == settings.CELERY_BROKER_URL:
    celery_app.conf.broker_url = f"sqla+sqlite:///{settings.VAR_DIR / 'test-celery-broker.sqlite3'}"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttling and lockout counters must not leak between tests. The database cache is rolled
    back with each test; a Redis cache (CACHE_URL) is emptied."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    if isinstance(caches["default"], RedisCache):
        caches["default"].clear()


@pytest.fixture(autouse=True)
def _isolated_index_dir(settings, tmp_path_factory):
    settings.INDEX_DIR = tmp_path_factory.mktemp("indexes")


@pytest.fixture(autouse=True)
def _isolated_audit_keys(settings, tmp_path_factory):
    # One signing key for the session, never the embedded install's own key.
    keys = tmp_path_factory.getbasetemp() / "audit-keys"
    settings.AUDIT_SIGNING_KEY_FILE = keys / "signing-key.pem"
    settings.AUDIT_TRUSTED_KEYS_FILE = keys / "trusted-keys.pem"


_embedding_memo: dict[tuple[str, str], object] = {}


@pytest.fixture
def memoized_embeddings(monkeypatch):
    """Real embeddings, computed once per test session for each distinct text, so that tests
    can sync the catalog's 130 passages into a fresh database in well under a second."""
    import numpy as np

    from domains import services
    from domains.embeddings import Encoded, encode

    def encode_memoized(texts, *, model, progress=False, batch_size=32):
        missing = [t for t in dict.fromkeys(texts) if (model, t) not in _embedding_memo]
        if missing:
            encoded = encode(missing, model=model)
            for text, vector, tokens in zip(missing, encoded.vectors, encoded.tokens, strict=True):
                _embedding_memo[(model, text)] = (vector, tokens)
        if not texts:
            return Encoded(np.zeros((0, 0), dtype=np.float32), [])
        memo = [_embedding_memo[(model, t)] for t in texts]
        return Encoded(np.vstack([v for v, _ in memo]).astype(np.float32), [t for _, t in memo])

    monkeypatch.setattr(services, "encode", encode_memoized)


@pytest.fixture
def catalog_domains(db, memoized_embeddings):
    from domains.catalog import catalog_definitions
    from domains.services import domains_sync

    return {
        domain.slug: domain
        for domain, _ in domains_sync(definitions=catalog_definitions(), actor=None)
    }


def make_user(username: str, role: str) -> User:
    group, _ = Group.objects.get_or_create(name=role)
    user = User.objects.create_user(username=username, password=f"{username}-password-123")
    user.groups.add(group)
    return user


@pytest.fixture
def clinician(db) -> User:
    return make_user("clinician", roles.CLINICIAN)


@pytest.fixture
def lawyer(db) -> User:
    return make_user("lawyer", roles.LAWYER)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def running_inquiry(user, domain, *, draft: str = "", question: str = "q", conversation=None):
    """An inquiry a worker is generating, stored as the pipeline stores one (encrypted)."""
    from assistant.models import Inquiry
    from compliance.crypto import ContentKey

    key = ContentKey.generate()
    return Inquiry.objects.create(
        user=user,
        domain=domain,
        conversation=conversation,
        jurisdiction="US",
        content_key_wrapped=key.wrapped,
        question_ciphertext=key.encrypt(question),
        redacted_question_ciphertext=key.encrypt(question),
        draft_ciphertext=key.encrypt(draft) if draft else "",
        status=Inquiry.Status.RUNNING,
        progress="generating",
    )


def token_client(user: User) -> APIClient:
    from assistant.models import ApiToken

    client = APIClient()
    _, secret = ApiToken.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


@pytest.fixture
def queued_ids(monkeypatch) -> list:
    """Records the inquiry ids the service would publish, instead of publishing them: for tests
    of the API layer that then run the pipeline themselves (or not at all)."""
    from assistant.inquiries import queue

    published: list = []
    monkeypatch.setattr(
        queue, "enqueue", lambda inquiry_id, countdown=None: published.append(inquiry_id)
    )
    return published


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


class LlamaServer:
    """A real OpenAI-compatible server (llama-cpp-python's) on a free loopback port."""

    def __init__(self, log_path: Path, api_key: str | None = None) -> None:
        import socket
        import subprocess

        from assistant.backends.llama_server import server_command, wait_until_serving

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            server_command(SERVED_MODEL, port=port, api_key=api_key),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until_serving(self.url, self.process)

    def profile(self, **changes) -> dict:
        return {
            "backend": "openai",
            "model": SERVED_MODEL,
            "base_url": self.url,
            "region": "on-premises",
            "max_new_tokens": 96,
            "max_input_tokens": 1536,
            "timeout": 60,
            "retries": 0,
            "tokenizer": SERVED_MODEL,
            **changes,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


SERVED_MODEL = "smollm2-135m-instruct"


@pytest.fixture
def llama_server(tmp_path):
    """Starts llama_cpp.server (``start(api_key=...)``); every one started is stopped after."""
    started: list[LlamaServer] = []

    def start(api_key: str | None = None) -> LlamaServer:
        started.append(LlamaServer(tmp_path / f"llama-server-{len(started)}.log", api_key))
        return started[-1]

    yield start
    for server in started:
        server.stop()
