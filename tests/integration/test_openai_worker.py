"""Inquiries through a real worker whose domain's model runs behind a real OpenAI-compatible
server (llama-cpp-python's, on a loopback port): answered, and the two failure classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.selectors import inquiry_content
from compliance.models import AuditEvent
from domains.models import Domain
from tests.conftest import token_client
from tests.integration.conftest import wait_until_finished

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUESTION = "How long does a covered entity have to notify individuals of a breach of unsecured PHI?"


def _ask(user) -> str:
    response = token_client(user).post(
        "/api/v1/inquiries",
        {"domain": "healthcare", "jurisdiction": "US", "question": QUESTION},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def _serve_healthcare_from(profile: dict) -> None:
    Domain.objects.filter(slug="healthcare").update(model_backends=[profile])


def test_an_inquiry_is_answered_by_the_model_behind_the_server(
    catalog_domains, clinician, llama_server, request
):
    server = llama_server()
    _serve_healthcare_from(server.profile())
    inquiry_id = _ask(clinician)
    worker = request.getfixturevalue("worker")
    inquiry = wait_until_finished(inquiry_id, worker)
    assert inquiry.status == "answered", (inquiry.failure_reason, worker.log_path.read_text())
    answer = inquiry_content(inquiry, viewer=clinician)["answer"]
    assert "60 calendar days" in answer
    assert "45 CFR 164.404(b)" in [c["citation"] for c in inquiry.citations]
    generated = AuditEvent.objects.get(inquiry_id=inquiry_id, event_type="inquiry.generated")
    assert generated.details["model_id"] == "smollm2-135m-instruct"
    assert generated.details["region"] == "on-premises"
    assert generated.details["prompt_tokens"] > 100
    # The server saw the request: the worker did not answer from a model of its own.
    server.stop()
    assert "POST /v1/chat/completions" in Path(server.log.name).read_text()


def test_a_stopped_server_is_retried_then_the_inquiry_fails(
    catalog_domains, clinician, llama_server, request
):
    server = llama_server()
    _serve_healthcare_from(server.profile())
    server.stop()
    inquiry_id = _ask(clinician)
    inquiry = wait_until_finished(inquiry_id, request.getfixturevalue("worker"))
    assert (inquiry.status, inquiry.failure_reason) == ("failed", "model_unavailable")
    assert inquiry.attempts == 3  # INQUIRY_MAX_ATTEMPTS: transient, so tried again
    assert "unreachable" in inquiry.failure_detail
    retries = AuditEvent.objects.filter(inquiry_id=inquiry_id, event_type="inquiry.retry")
    assert [event.details["step"] for event in retries] == ["generate", "generate"]


def test_a_model_the_server_does_not_serve_fails_at_once(
    catalog_domains, clinician, llama_server, request
):
    server = llama_server()
    _serve_healthcare_from(server.profile(model="no-such-model"))
    inquiry_id = _ask(clinician)
    inquiry = wait_until_finished(inquiry_id, request.getfixturevalue("worker"))
    assert (inquiry.status, inquiry.failure_reason) == ("failed", "model_unavailable")
    assert inquiry.attempts == 1  # permanent: not tried again
