"""One user cannot hold every server thread: streams and ?wait= polls beyond
LONG_REQUESTS_PER_USER are answered at once with 429 and Retry-After."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections

from assistant.long_requests import slot_acquire
from tests.conftest import running_inquiry, token_client

pytestmark = pytest.mark.django_db


def stream(client, inquiry):
    return client.get(f"/api/v1/inquiries/{inquiry.id}/stream", HTTP_ACCEPT="text/event-stream")


def test_streams_beyond_the_cap_are_refused_and_a_closed_one_frees_its_slot(
    catalog_domains, clinician, lawyer, settings
):
    settings.LONG_REQUESTS_PER_USER = 2
    inquiry = running_inquiry(clinician, catalog_domains["healthcare"])
    client = token_client(clinician)
    first, second = stream(client, inquiry), stream(client, inquiry)
    assert (first.status_code, second.status_code) == (200, 200)
    refused = stream(client, inquiry)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert "already have 2 streams or waiting requests open" in refused.json()["error"]["message"]
    assert int(refused["Retry-After"]) > 0
    # Another user has slots of their own.
    theirs = running_inquiry(lawyer, catalog_domains["legal"])
    assert stream(token_client(lawyer), theirs).status_code == 200
    # The server closes a response when the client goes away, read or not. (Closing also
    # signals the request's end, which would close the test's database connection.)
    request_finished.disconnect(close_old_connections)
    try:
        first.close()
    finally:
        request_finished.connect(close_old_connections)
    assert stream(client, inquiry).status_code == 200


def test_a_stream_that_ends_gives_its_slot_back(catalog_domains, clinician, settings):
    settings.LONG_REQUESTS_PER_USER = 1
    inquiry = running_inquiry(clinician, catalog_domains["healthcare"])
    inquiry.status = "failed"
    inquiry.save(update_fields=["status"])
    client = token_client(clinician)
    for _ in range(3):
        response = stream(client, inquiry)
        assert response.status_code == 200
        assert b"event: done" in b"".join(response.streaming_content)


def test_waiting_polls_share_the_cap_and_plain_polls_do_not_count(
    catalog_domains, clinician, settings
):
    settings.LONG_REQUESTS_PER_USER = 1
    inquiry = running_inquiry(clinician, catalog_domains["healthcare"])
    client = token_client(clinician)
    url = f"/api/v1/inquiries/{inquiry.id}"
    release = slot_acquire(clinician)  # an open stream elsewhere
    waiting = client.get(url, {"wait": 1})
    assert waiting.status_code == 429 and int(waiting["Retry-After"]) > 0
    assert client.get(url).status_code == 200
    release()
    assert client.get(url, {"wait": 1}).json()["status"] == "running"
    assert client.get(url, {"wait": 1}).status_code == 200  # the last wait gave its slot back
