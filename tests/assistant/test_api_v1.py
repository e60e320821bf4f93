"""The REST API's contract beyond single inquiries: conversations and follow-ups, pagination
and filters, Idempotency-Key, throttling, expiring and revocable tokens, login lockout,
sessions, and the event stream."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from assistant.models import ApiToken, Conversation, Inquiry
from assistant.streaming import inquiry_events, inquiry_events_async
from compliance.crypto import ContentKey
from compliance.models import AuditEvent
from tests.conftest import running_inquiry, token_client

pytestmark = pytest.mark.django_db

CREATE = "/api/v1/inquiries"
ASK = {"domain": "healthcare", "jurisdiction": "US", "question": "When must a breach be reported?"}


def ask(client, **overrides):
    return client.post(CREATE, {**ASK, **overrides}, format="json")


def test_a_follow_up_joins_the_conversation_and_inherits_its_domain(
    catalog_domains, clinician, queued_ids
):
    client = token_client(clinician)
    first = ask(client).json()
    follow = client.post(
        CREATE, {"conversation": first["conversation"], "question": "And for a BA?"}, format="json"
    )
    assert follow.status_code == 202, follow.content
    second = Inquiry.objects.get(pk=follow.json()["id"])
    assert str(second.conversation_id) == first["conversation"]
    assert (second.domain.slug, second.jurisdiction) == ("healthcare", "US")

    mismatch = client.post(
        CREATE,
        {"conversation": first["conversation"], "question": "Q", "jurisdiction": "EU-DE"},
        format="json",
    )
    assert mismatch.status_code == 400
    assert "jurisdiction" in mismatch.json()["error"]["fields"]
    missing = client.post(CREATE, {"question": "Q"}, format="json")
    assert set(missing.json()["error"]["fields"]) == {"domain", "jurisdiction"}

    detail = client.get(f"/api/v1/conversations/{first['conversation']}").json()
    assert [i["id"] for i in detail["inquiries"]] == [first["id"], str(second.id)]
    assert detail["turns"] == 2


def test_inquiry_list_paginates_and_filters(catalog_domains, clinician, queued_ids):
    client = token_client(clinician)
    created = [ask(client).json()["id"] for _ in range(3)]
    Inquiry.objects.filter(pk=created[0]).update(status=Inquiry.Status.ANSWERED)

    page = client.get(f"{CREATE}?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [r["id"] for r in page["results"]] == created[:0:-1]
    rest = client.get(page["next"]).json()
    assert [r["id"] for r in rest["results"]] == created[:1]

    answered = client.get(f"{CREATE}?status=answered").json()["results"]
    assert [r["id"] for r in answered] == created[:1]
    assert client.get(f"{CREATE}?domain=legal").json()["count"] == 0
    future = (timezone.now() + timedelta(days=1)).isoformat().replace("+", "%2B")
    assert client.get(f"{CREATE}?created_after={future}").json()["count"] == 0

    for bad in ("status=done", "created_after=yesterday", "conversation=42", "page=9"):
        response = client.get(f"{CREATE}?{bad}")
        assert response.status_code in (400, 404), bad
        assert response.json()["error"]["message"]


def test_idempotency_key_returns_the_first_inquiry_on_retry(
    catalog_domains, clinician, lawyer, queued_ids, django_capture_on_commit_callbacks
):
    client = token_client(clinician)
    key = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(CREATE, ASK, format="json", HTTP_IDEMPOTENCY_KEY=key)
        retry = client.post(CREATE, ASK, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Inquiry.objects.count() == 1 and len(queued_ids) == 1

    reused = client.post(
        CREATE, {**ASK, "question": "Something else"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"

    # Keys are per user: another user's identical key creates their own inquiry.
    other = token_client(lawyer).post(
        CREATE, {**ASK, "domain": "legal"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert other.status_code == 202 and Inquiry.objects.count() == 2

    # The stored hash is an HMAC: the question is not recoverable from the key table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT request_hash FROM assistant_idempotencykey")
        assert all("breach" not in row[0] for row in cursor.fetchall())


def test_an_expired_idempotency_key_is_forgotten(catalog_domains, clinician, queued_ids, settings):
    client = token_client(clinician)
    client.post(CREATE, ASK, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    from assistant.models import IdempotencyKey

    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = client.post(CREATE, ASK, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 202 and Inquiry.objects.count() == 2


def test_creating_inquiries_is_throttled_per_user(
    catalog_domains, clinician, lawyer, queued_ids, monkeypatch
):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "inquiries", "2/min")
    client = token_client(clinician)
    assert [ask(client).status_code for _ in range(3)] == [202, 202, 429]
    throttled = ask(client)
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    # Reading is not creating, and another user has their own budget.
    assert client.get(CREATE).status_code == 200
    assert ask(token_client(lawyer), domain="legal").status_code == 202


def test_tokens_expire_and_can_be_revoked(clinician, api_client):
    issued = api_client.post(
        "/api/v1/auth/token",
        {"username": "clinician", "password": "clinician-password-123", "label": "laptop"},
        format="json",
    ).json()
    assert issued["label"] == "laptop"
    # Only the digest is stored.
    assert not ApiToken.objects.filter(digest=issued["token"]).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued['token']}")
    listed = client.get("/api/v1/auth/tokens").json()["results"]
    assert [t["id"] for t in listed] == [issued["id"]]

    ApiToken.objects.filter(public_id=issued["id"]).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    expired = client.get("/api/v1/domains")
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "authentication_failed"

    fresh = token_client(clinician)
    second = fresh.get("/api/v1/auth/tokens").json()["results"][0]["id"]
    assert fresh.delete(f"/api/v1/auth/tokens/{second}").status_code == 204
    assert fresh.get("/api/v1/domains").status_code == 401
    revoked = AuditEvent.objects.filter(event_type="auth.token_revoked").get()
    assert revoked.details == {"token": second} and revoked.actor == clinician


def test_token_count_per_user_is_limited(clinician, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    client = APIClient()
    body = {"username": "clinician", "password": "clinician-password-123"}
    codes = [client.post("/api/v1/auth/token", body, format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 400]


def test_repeated_failed_logins_lock_the_username_out_of_api_and_portal(clinician, settings):
    settings.AXES_FAILURE_LIMIT = 3
    api = APIClient()
    wrong = {"username": "clinician", "password": "wrong"}
    codes = [api.post("/api/v1/auth/token", wrong, format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    right = {"username": "clinician", "password": "clinician-password-123"}
    locked = api.post("/api/v1/auth/token", right, format="json")
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "locked_out"
    assert int(locked["Retry-After"]) > 0
    portal = Client().post("/accounts/login/", right)
    assert portal.status_code == 429 and b"temporarily locked" in portal.content
    assert AuditEvent.objects.filter(event_type="auth.locked_out").exists()
    # Another username from the same address is not affected.
    other = {"username": "someone-else", "password": "x"}
    assert api.post("/api/v1/auth/token", other, format="json").status_code == 400
    # Counters are keyed by an HMAC: the typed username is not in the cache.
    keys = cache_keys()
    assert keys and not any("clinician" in key for key in keys)


def cache_keys() -> list[str]:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return [key.decode() for key in cache._cache.get_client().keys("*")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM assistant_cache")
        return [row[0] for row in cursor.fetchall()]


def test_sessions_rotate_on_login_expire_when_idle_and_end_at_logout(clinician, settings):
    client = Client()
    client.get("/accounts/login/")
    client.cookies["sessionid"] = "anonymous-session-key"
    response = client.post(
        "/accounts/login/", {"username": "clinician", "password": "clinician-password-123"}
    )
    assert response.status_code == 302
    session_key = client.cookies["sessionid"].value
    assert session_key != "anonymous-session-key"
    assert client.get("/").status_code == 200

    stolen = Client()
    stolen.cookies["sessionid"] = session_key
    assert stolen.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert stolen.get("/").status_code == 302  # the old key no longer works

    settings.SESSION_COOKIE_AGE = 1
    idle = Client()
    idle.post("/accounts/login/", {"username": "clinician", "password": "clinician-password-123"})
    assert idle.get("/").status_code == 200
    time.sleep(2.1)
    assert idle.get("/").status_code == 302


def test_deleting_a_conversation_erases_its_content_and_hides_it(
    catalog_domains, clinician, queued_ids
):
    client = token_client(clinician)
    first = ask(client).json()
    conversation = first["conversation"]
    assert client.delete(f"/api/v1/conversations/{conversation}").status_code == 204
    inquiry = Inquiry.objects.get(pk=first["id"])
    assert inquiry.content_key_wrapped == inquiry.question_ciphertext == ""
    assert inquiry.status == "failed" and inquiry.content_purged_at is not None
    assert client.get(f"/api/v1/inquiries/{first['id']}").status_code == 404
    assert client.get(f"/api/v1/conversations/{conversation}").status_code == 404
    assert client.get("/api/v1/conversations").json()["count"] == 0
    assert client.get(CREATE).json()["count"] == 0
    follow = client.post(CREATE, {"conversation": conversation, "question": "Q"}, format="json")
    assert follow.status_code == 400
    event = AuditEvent.objects.get(event_type="conversation.deleted")
    assert event.details == {"conversation": conversation, "inquiries": [first["id"]]}
    assert Conversation.objects.get(pk=conversation).deleted_at is not None


def _parse(chunk: str) -> tuple[str, dict]:
    lines = dict(line.split(": ", 1) for line in chunk.strip().split("\n"))
    return lines["event"], json.loads(lines["data"])


def test_stream_sends_status_and_drafts_then_the_finished_inquiry(catalog_domains, clinician):
    inquiry = running_inquiry(
        clinician, catalog_domains["healthcare"], draft="Notify within 60 days,"
    )
    events = inquiry_events(
        inquiry, viewer=clinician, restore=False, url="u", poll_seconds=0, max_seconds=30
    )
    assert _parse(next(events)) == ("status", {"status": "running", "progress": "generating"})
    assert _parse(next(events)) == ("draft", {"text": "Notify within 60 days,"})

    key = ContentKey.unwrap(inquiry.content_key_wrapped)
    Inquiry.objects.filter(pk=inquiry.pk).update(
        status=Inquiry.Status.ANSWERED,
        answer_ciphertext=key.encrypt("Notify within 60 days [1]."),
        draft_ciphertext="",
        progress="",
        question_entities={"PERSON": 1, "MEDICAL_RECORD_NUMBER": 1},
    )
    name, done = _parse(next(events))
    assert name == "done"
    assert done["answer"] == "Notify within 60 days [1]." and done["status"] == "answered"
    assert done["redaction_notice"]["question"] == "1 name, 1 record number"
    assert list(events) == []


@pytest.mark.django_db(transaction=True)
def test_the_async_stream_sends_the_same_events_and_times_out(catalog_domains, clinician):
    # What the ASGI server sends. Its looks run in the event loop's thread pool, outside any
    # transaction of this thread: hence a transactional test, and a pool of one thread whose
    # connection is closed at the end.
    inquiry = running_inquiry(clinician, catalog_domains["healthcare"], draft="Notify within")

    async def events(max_seconds):
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=1)
        loop.set_default_executor(pool)
        try:
            return [
                _parse(event)[0]
                async for event in inquiry_events_async(
                    inquiry, viewer=clinician, restore=False, url="u", poll_seconds=0,
                    max_seconds=max_seconds,
                )
            ]  # fmt: skip
        finally:
            await loop.run_in_executor(pool, connections.close_all)

    assert asyncio.run(events(0)) == ["status", "draft", "timeout"]
    Inquiry.objects.filter(pk=inquiry.pk).update(status=Inquiry.Status.FAILED)
    assert asyncio.run(events(30)) == ["done"]


def test_stream_over_http_is_event_stream_and_ends_with_done(catalog_domains, clinician):
    inquiry = running_inquiry(clinician, catalog_domains["healthcare"])
    Inquiry.objects.filter(pk=inquiry.pk).update(status=Inquiry.Status.FAILED)
    client = token_client(clinician)
    response = client.get(f"/api/v1/inquiries/{inquiry.id}/stream", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    body = b"".join(response.streaming_content).decode()
    name, data = _parse(body)
    assert name == "done" and data["status"] == "failed"


def test_stream_reports_queue_position(catalog_domains, clinician):
    domain = catalog_domains["healthcare"]
    ahead = running_inquiry(clinician, domain)
    Inquiry.objects.filter(pk=ahead.pk).update(status=Inquiry.Status.QUEUED)
    mine = running_inquiry(clinician, domain)
    Inquiry.objects.filter(pk=mine.pk).update(status=Inquiry.Status.QUEUED, progress="")
    events = inquiry_events(mine, viewer=clinician, restore=False, url="u", poll_seconds=0)
    assert _parse(next(events)) == ("status", {"status": "queued", "progress": "", "ahead": 1})


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_create_one_inquiry(
    catalog_domains, clinician, queued_ids
):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    barrier = threading.Barrier(4)
    results: list[tuple[int, str]] = []

    def retry() -> None:
        client = token_client(clinician)
        barrier.wait()
        response = client.post(CREATE, ASK, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
        results.append((response.status_code, response.json().get("id", "")))
        connection.close()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in results) == [200, 200, 200, 202], results
    assert len({inquiry_id for _, inquiry_id in results}) == 1
    assert Inquiry.objects.count() == 1 and Conversation.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="inquiry.received").count() == 1
