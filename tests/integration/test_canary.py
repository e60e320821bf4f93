"""Canary: unique fake identities go in through the API and a real worker; afterwards none of
them may be found in a dump of the database, in any key of the broker, or in any log."""

from __future__ import annotations

import logging
import random
import re
import shutil
import subprocess
import uuid

import pytest
from django.db import connection

from assistant.celery import app as celery_app
from tests.conftest import token_client
from tests.integration.conftest import wait_until_finished

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def fake_identity() -> dict[str, str]:
    rng = random.Random(uuid.uuid4().int)
    return {
        "PERSON": rng.choice(["Margarethe Vollmer", "Desmond Okafor", "Harriet Lindqvist"]),
        "MEDICAL_RECORD_NUMBER": str(rng.randint(1_000_000, 9_999_999)),
        "US_SSN": f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
        "PHONE_NUMBER": f"(555) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        "EMAIL_ADDRESS": f"canary-{uuid.uuid4().hex[:12]}@example.org",
    }


def appears(value: str, text: str) -> bool:
    """Whether ``value`` stands in ``text`` as itself. A run of seven digits inside a hex digest
    or a ciphertext in the dump is no leak of a record number (a CI run once found one there)."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text) is not None


def database_dump() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump is needed to dump the PostgreSQL test database"
        command = [pg_dump, "--data-only", "--no-owner", "-h", db["HOST"] or "localhost"]
        command += ["-p", str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"]]
        env = {"PGPASSWORD": db["PASSWORD"] or ""}
        return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    # SQLite: the file and its write-ahead log, as bytes on disk.
    chunks = []
    for suffix in ("", "-wal"):
        try:
            with open(f"{db['NAME']}{suffix}", "rb") as handle:
                chunks.append(handle.read().decode("latin-1"))
        except FileNotFoundError:
            pass
    return "\n".join(chunks)


def broker_dump() -> str:
    """Every key and value the broker holds (Redis), or every stored message (SQLite broker)."""
    broker = celery_app.conf.broker_url
    if broker.startswith("redis"):
        import redis

        client = redis.Redis.from_url(broker)
        values = []
        for key in client.scan_iter():
            kind = client.type(key).decode()
            values.append(key.decode("latin-1"))
            if kind == "string":
                values.append(client.get(key).decode("latin-1"))
            elif kind == "list":
                values += [v.decode("latin-1") for v in client.lrange(key, 0, -1)]
            elif kind == "hash":
                values += [v.decode("latin-1") for v in client.hgetall(key).values()]
            elif kind == "set":
                values += [v.decode("latin-1") for v in client.smembers(key)]
            elif kind == "zset":
                values += [v.decode("latin-1") for v in client.zrange(key, 0, -1)]
        return "\n".join(values)
    path = broker.removeprefix("sqla+sqlite:///")
    with open(path, "rb") as handle:
        return handle.read().decode("latin-1")


def test_no_store_holds_the_canary_identities(catalog_domains, clinician, caplog, request):
    identity = fake_identity()
    question = (
        f"My patient {identity['PERSON']} (MRN {identity['MEDICAL_RECORD_NUMBER']}, SSN "
        f"{identity['US_SSN']}, phone {identity['PHONE_NUMBER']}, e-mail "
        f"{identity['EMAIL_ADDRESS']}) had her records exposed. How long does a covered entity "
        "have to notify individuals of a breach of unsecured PHI?"
    )
    caplog.set_level(logging.DEBUG)
    client = token_client(clinician)
    response = client.post(
        "/api/v1/inquiries",
        {"domain": "healthcare", "jurisdiction": "US", "question": question},
        format="json",
    )
    assert response.status_code == 202
    inquiry_id = response.json()["id"]
    broker_while_queued = broker_dump()

    worker = request.getfixturevalue("worker")
    inquiry = wait_until_finished(inquiry_id, worker)
    assert inquiry.status == "answered", inquiry.failure_reason

    detail = client.get(f"/api/v1/inquiries/{inquiry_id}").json()
    assert detail["redactions"]["question"] == {entity_type: 1 for entity_type in identity}
    restored = client.get(f"/api/v1/inquiries/{inquiry_id}?restore=true").json()
    assert identity["PERSON"] in restored["redacted_question"]  # the requester may see them

    stores = {
        "database": database_dump(),
        "broker while queued": broker_while_queued,
        "broker after": broker_dump(),
        "worker log": worker.log_path.read_text(),
        "web and test log": caplog.text,
        "redacted question": detail["redacted_question"],
        "answer": detail["answer"],
    }
    # The dump is real and holds this inquiry (SQLite stores UUIDs without dashes).
    assert inquiry_id in stores["database"] or uuid.UUID(inquiry_id).hex in stores["database"]
    for store, text in stores.items():
        for entity_type, value in identity.items():
            assert not appears(value, text), f"{entity_type} found in {store}"
