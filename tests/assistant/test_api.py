from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from assistant.models import Inquiry
from compliance.crypto import ContentKey
from compliance.models import AuditEvent
from compliance.policy import policies
from tests.conftest import make_user, token_client

CREATE = "/api/v1/inquiries"
QUESTION = "My patient John Smith, MRN 4455667, asks: how long does a covered entity have to notify individuals of a breach?"


def body(**overrides):
    return {"domain": "healthcare", "jurisdiction": "US", "question": QUESTION, **overrides}


def assert_error(response, status, *, field=None, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    assert error["message"]
    if field:
        assert field in error["fields"], error
    if code:
        assert error["code"] == code
    return error


@pytest.mark.django_db
def test_submission_is_accepted_stored_encrypted_audited_and_queued(
    catalog_domains, clinician, queued_ids, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(clinician).post(CREATE, body(), format="json")
    assert response.status_code == 202
    data = response.json()
    inquiry = Inquiry.objects.get(pk=data["id"])
    assert response["Location"] == data["url"] == f"http://testserver/api/v1/inquiries/{inquiry.id}"
    assert data["status"] == "queued"
    assert queued_ids == [inquiry.id]
    assert "John Smith" not in inquiry.question_ciphertext
    assert (
        ContentKey.unwrap(inquiry.content_key_wrapped).decrypt(inquiry.question_ciphertext)
        == QUESTION
    )
    events = AuditEvent.objects.filter(inquiry_id=inquiry.id)
    us = policies().get("US")
    assert [(e.event_type, e.outcome, e.actor, e.details) for e in events] == [
        (
            "inquiry.received",
            "success",
            clinician,
            {
                "question_chars": len(QUESTION),
                "policy_id": "US",
                "policy_version": us.version,
                "conversation": str(inquiry.conversation_id),
            },
        )
    ]
    assert (inquiry.policy_id, inquiry.policy_version) == ("US", us.version)
    assert inquiry.retain_until - inquiry.created_at == timedelta(days=us.retention_days)


@pytest.mark.django_db
def test_session_login_can_submit_with_csrf(catalog_domains, clinician, queued_ids, client):
    client.force_login(clinician)
    response = client.post(CREATE, json.dumps(body()), content_type="application/json")
    assert response.status_code == 202


@pytest.mark.django_db
def test_token_is_issued_for_a_username_and_password(clinician, api_client):
    response = api_client.post(
        "/api/v1/auth/token",
        {"username": "clinician", "password": "clinician-password-123"},
        format="json",
    )
    assert response.status_code == 201
    data = response.json()
    assert len(data["token"]) == 64 and data["expires_at"] and data["id"]
    bad = api_client.post(
        "/api/v1/auth/token", {"username": "clinician", "password": "wrong"}, format="json"
    )
    assert_error(bad, 400, field="non_field_errors")


@pytest.mark.django_db
def test_missing_or_bad_credentials_get_401_json(api_client):
    assert_error(api_client.post(CREATE, body(), format="json"), 401, code="not_authenticated")
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(api_client.post(CREATE, body(), format="json"), 401, code="authentication_failed")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field", "text"),
    [
        (body(domain="astrology"), "domain", "Unknown domain 'astrology'."),
        (body(jurisdiction="MARS"), "jurisdiction", "Unknown jurisdiction 'MARS'."),
        (body(jurisdiction="AE-ADGM"), "jurisdiction", "does not serve jurisdiction 'AE-ADGM'"),
        (body(question=""), "question", "may not be blank"),
        (body(question="   \n "), "question", "may not be blank"),
        (body(question="x" * 4001), "question", "no more than 4000 characters"),
        ({"domain": "healthcare", "jurisdiction": "US"}, "question", "required"),
        (body(question=["a", "list"]), "question", "Not a valid string"),
    ],
)
def test_bad_input_gets_400_naming_the_field(
    catalog_domains, clinician, queued_ids, payload, field, text
):
    response = token_client(clinician).post(CREATE, payload, format="json")
    error = assert_error(response, 400, field=field, code="invalid")
    assert any(text in message for message in error["fields"][field])
    assert not Inquiry.objects.exists()
    assert queued_ids == []


@pytest.mark.django_db
def test_malformed_json_wrong_type_and_oversized_bodies_are_4xx(
    catalog_domains, clinician, queued_ids
):
    client = token_client(clinician)
    assert_error(
        client.post(CREATE, '{"domain": "healthcare",', content_type="application/json"),
        400,
        code="parse_error",
    )
    assert_error(
        client.post(CREATE, "domain=healthcare", content_type="application/x-www-form-urlencoded"),
        415,
    )
    huge = json.dumps(body(question="x" * 300_000))
    assert_error(
        client.post(CREATE, huge, content_type="application/json"), 413, code="request_too_large"
    )
    assert_error(client.put(CREATE, body(), format="json"), 405)
    assert not Inquiry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", [CREATE, "/api/v1/auth/token"])
def test_json_nested_past_the_recursion_limit_is_a_parse_error(catalog_domains, clinician, path):
    client = token_client(clinician) if path == CREATE else APIClient()
    nested = "[" * 100_000 + "]" * 100_000
    error = assert_error(
        client.post(path, nested, content_type="application/json"), 400, code="parse_error"
    )
    assert "nested too deeply" in error["message"]
    assert not Inquiry.objects.exists()


@pytest.mark.django_db
def test_role_without_the_domain_is_denied_and_the_denial_is_audited(
    catalog_domains, lawyer, queued_ids
):
    response = token_client(lawyer).post(CREATE, body(), format="json")
    error = assert_error(response, 403, code="permission_denied")
    assert "healthcare" in error["message"]
    denial = AuditEvent.objects.get(event_type=AuditEvent.Type.ACCESS_DENIED)
    assert (denial.actor, denial.outcome, denial.domain, denial.details) == (
        lawyer,
        "denied",
        "healthcare",
        {"action": "inquiry.create", "reason": "role_not_granted_domain"},
    )
    assert not Inquiry.objects.exists()


# Transactional: the publish must really run after the commit, inside the request.
@pytest.mark.django_db(transaction=True)
def test_queue_outage_fails_the_inquiry_with_503(catalog_domains, clinician, monkeypatch):
    from kombu.exceptions import OperationalError

    from assistant.inquiries import queue

    def broker_down(inquiry_id):
        raise OperationalError("connection refused")

    monkeypatch.setattr(queue, "enqueue", broker_down)
    response = token_client(clinician).post(CREATE, body(), format="json")
    error = assert_error(response, 503, code="queue_unavailable")
    inquiry = Inquiry.objects.get()
    assert error["inquiry"].endswith(str(inquiry.id))
    assert (inquiry.status, inquiry.failure_reason) == ("failed", "queue_unavailable")
    assert (
        AuditEvent.objects.filter(inquiry_id=inquiry.id, event_type="inquiry.failed").count() == 1
    )


@pytest.mark.django_db
def test_requester_sees_their_inquiry_and_nobody_else_does(catalog_domains, clinician, queued_ids):
    inquiry_id = token_client(clinician).post(CREATE, body(), format="json").json()["id"]
    mine = token_client(clinician).get(f"{CREATE}/{inquiry_id}")
    assert mine.status_code == 200
    data = mine.json()
    assert (
        data["status"],
        data["domain"],
        data["jurisdiction"],
        data["answer"],
        data["failure"],
    ) == ("queued", "healthcare", "US", "", None)
    other = make_user("other-clinician", "clinician")
    assert_error(token_client(other).get(f"{CREATE}/{inquiry_id}"), 404, code="not_found")
    assert_error(token_client(clinician).get(f"{CREATE}/{uuid.uuid4()}"), 404)


@pytest.mark.django_db
def test_wait_parameter_is_validated(catalog_domains, clinician, queued_ids):
    inquiry_id = token_client(clinician).post(CREATE, body(), format="json").json()["id"]
    assert_error(token_client(clinician).get(f"{CREATE}/{inquiry_id}?wait=600"), 400, field="wait")
    assert_error(token_client(clinician).get(f"{CREATE}/{inquiry_id}?wait=soon"), 400, field="wait")


@pytest.mark.django_db
def test_domains_list_only_what_the_role_grants(catalog_domains, lawyer):
    data = token_client(lawyer).get("/api/v1/domains").json()
    assert [d["slug"] for d in data["results"]] == ["legal"]
    assert {"code": "US-CA", "name": "United States, California"} in data["results"][0][
        "jurisdictions"
    ]


@pytest.mark.django_db
def test_unknown_api_paths_and_health(api_client):
    assert_error(api_client.get("/api/v1/nothing-here"), 404, code="not_found")
    assert_error(api_client.get("/api/v2/inquiries"), 404, code="not_found")
    assert api_client.get(reverse("api:health")).json()["status"] == "ok"


@pytest.mark.django_db
def test_portal_requires_login_and_offers_the_roles_domains(catalog_domains, lawyer, client):
    assert client.get("/").status_code == 302
    client.force_login(lawyer)
    page = client.get("/").content.decode()
    assert 'value="legal"' in page
    assert 'value="healthcare"' not in page
    # The page script reads the domains as a JSON list, not as a JSON-encoded string.
    assert '<script id="domains-data" type="application/json">[{"slug": "legal"' in page
