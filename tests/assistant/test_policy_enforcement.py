"""Policies driving real requests: submission, the worker's decisions, retention, the explain
endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assistant import inquiries
from assistant.inquiries.pipeline.run import inquiry_run
from assistant.models import Inquiry
from assistant.selectors import inquiry_content
from compliance.models import AuditEvent
from compliance.policy import policies
from tests.conftest import make_user, token_client

CREATE = "/api/v1/inquiries"
US_ONLY = [{"backend": "transformers", "model": "smollm2-135m-instruct", "region": "US",
            "max_new_tokens": 60, "max_input_tokens": 1536}]  # fmt: skip


def submit(user, question, domain="healthcare", jurisdiction="US") -> Inquiry:
    return inquiries.inquiry_submit(
        user=user, domain=domain, jurisdiction=jurisdiction, question=question
    )


def run(inquiry: Inquiry) -> Inquiry:
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    return inquiry


def event_types(inquiry) -> list[str]:
    return list(
        AuditEvent.objects.filter(inquiry_id=inquiry.id).values_list("event_type", flat=True)
    )


@pytest.mark.django_db
def test_an_eu_request_with_only_a_us_backend_is_refused_with_its_reason(
    catalog_domains, clinician, queued_ids
):
    healthcare = catalog_domains["healthcare"]
    healthcare.model_backends = US_ONLY
    healthcare.save()
    response = token_client(clinician).post(
        CREATE,
        {"domain": "healthcare", "jurisdiction": "EU", "question": "How long to notify?"},
        format="json",
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["reason"]) == ("policy_refused", "no_backend_in_allowed_region")
    assert "allows (on-premises, EU)" in error["message"]
    assert "smollm2-135m-instruct (US)" in error["message"]
    assert error["policy"] == {"id": "EU", "version": policies().get("EU").version}
    assert not Inquiry.objects.exists() and queued_ids == []
    refusal = AuditEvent.objects.get(event_type="policy.refused")
    assert (refusal.actor, refusal.outcome, refusal.jurisdiction) == (clinician, "denied", "EU")
    assert refusal.details["reason"] == "no_backend_in_allowed_region"
    # The same backend serves a US request.
    us = token_client(clinician).post(
        CREATE,
        {"domain": "healthcare", "jurisdiction": "US", "question": "How long to notify?"},
        format="json",
    )
    assert us.status_code == 202


@pytest.mark.django_db
def test_a_domain_the_policy_does_not_offer_is_refused(catalog_domains, clinician, queued_ids):
    healthcare = catalog_domains["healthcare"]
    healthcare.jurisdictions = [*healthcare.jurisdictions, "AE-ADGM"]
    healthcare.save()
    response = token_client(clinician).post(
        CREATE,
        {"domain": "healthcare", "jurisdiction": "AE-ADGM", "question": "Breach rules?"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["reason"] == "domain_not_offered"


@pytest.mark.django_db
def test_a_reidentification_request_is_refused_before_retrieval_or_generation(
    catalog_domains, clinician, queued_ids
):
    inquiry = run(submit(clinician, "Who is John Smith? Find the home address of John Smith."))
    assert inquiry.status == "refused"
    assert inquiry.refusal_category == "reidentification"
    content = inquiry_content(inquiry, viewer=clinician)
    assert content["answer"] == policies().get("US").refusals_for("healthcare")[0].text
    assert "John Smith" not in content["redacted_question"]
    assert event_types(inquiry) == [
        "inquiry.received",
        "inquiry.screened",
        "inquiry.policy_decided",
        "inquiry.refused",
    ]
    decided = AuditEvent.objects.get(inquiry_id=inquiry.id, event_type="inquiry.policy_decided")
    assert (
        decided.details["policy_version"] == inquiry.policy_version == policies().get("US").version
    )
    fired = [r for r in decided.details["rules"] if r.get("outcome") == "fired"]
    assert [r["rule"] for r in fired] == ["refusals.reidentification"]
    assert fired[0]["why"]["probability"] >= fired[0]["why"]["threshold"]
    detail = token_client(clinician).get(f"{CREATE}/{inquiry.id}").json()
    assert detail["status"] == "refused"
    assert detail["refusal"]["category"] == "reidentification"
    assert detail["policy"]["action"] == "refuse"


@pytest.mark.django_db
def test_the_worker_applies_a_policy_that_changed_after_submission(
    catalog_domains, clinician, queued_ids
):
    inquiry = submit(clinician, "How long do we have to notify patients?", jurisdiction="EU")
    healthcare = catalog_domains["healthcare"]
    healthcare.model_backends = US_ONLY
    healthcare.save()
    inquiry = run(inquiry)
    assert (inquiry.status, inquiry.refusal_category) == ("refused", "no_backend_in_allowed_region")
    assert "not sent anywhere" in inquiry_content(inquiry, viewer=clinician)["answer"]
    assert "inquiry.generated" not in event_types(inquiry)


@pytest.mark.django_db
@pytest.mark.slow
def test_an_individual_diagnosis_question_gets_general_information_only(
    catalog_domains, clinician, queued_ids
):
    inquiry = run(
        submit(
            clinician,
            "My patient John Smith has chest pain and fever. What is his diagnosis and which "
            "antibiotic should I prescribe him?",
        )
    )
    assert inquiry.status == "answered"
    assert inquiry.policy_decision["action"] == "general_only"
    answer = inquiry_content(inquiry, viewer=clinician)["answer"]
    rule = {r.category: r for r in policies().get("US").refusals_for("healthcare")}
    assert answer.startswith(rule["individualized_diagnosis"].text)


@pytest.mark.django_db
@pytest.mark.slow
@pytest.mark.parametrize(
    ("jurisdiction", "version"), [("US", "base-healthcare-1"), ("US-CA", "us-ca-healthcare-1")]
)
def test_every_answer_ends_with_the_policy_disclaimer_and_records_its_version(
    catalog_domains, clinician, queued_ids, jurisdiction, version
):
    inquiry = run(
        submit(
            clinician,
            "How long does a covered entity have to notify individuals of a breach?",
            jurisdiction=jurisdiction,
        )
    )
    disclaimer = policies().get(jurisdiction).disclaimer_for("healthcare")
    assert disclaimer.version == version
    assert inquiry_content(inquiry, viewer=clinician)["answer"].endswith(
        f"Disclaimer ({version}): {disclaimer.text}"
    )
    assert inquiry.policy_decision["disclaimer"] == {"version": version, "text": disclaimer.text}
    assert (
        token_client(clinician).get(f"{CREATE}/{inquiry.id}").json()["disclaimer"]["version"]
        == version
    )


@pytest.mark.django_db
def test_content_past_retention_is_purged_and_the_trail_stays(
    catalog_domains, clinician, queued_ids
):
    refused = run(submit(clinician, "Who is John Smith? Find the home address of John Smith."))
    never_run = submit(clinician, "What is the minimum necessary standard?")
    fresh = submit(clinician, "What must a breach notice contain?")
    events_before = AuditEvent.objects.count()
    past = timezone.now() - timedelta(seconds=1)
    Inquiry.objects.filter(pk__in=[refused.id, never_run.id]).update(retain_until=past)

    assert inquiries.inquiries_purge_expired() == 2
    assert inquiries.inquiries_purge_expired() == 0  # idempotent
    for inquiry in (refused, never_run):
        inquiry.refresh_from_db()
        assert inquiry.content_purged_at is not None
        assert (
            inquiry.question_ciphertext,
            inquiry.redacted_question_ciphertext,
            inquiry.answer_ciphertext,
            inquiry.vault_ciphertext,
        ) == ("", "", "", "")
    assert refused.status == "refused"
    assert (never_run.status, never_run.failure_reason) == ("failed", "content_unreadable")
    fresh.refresh_from_db()
    assert fresh.question_ciphertext and fresh.content_purged_at is None
    assert AuditEvent.objects.count() == events_before + 2
    purged = AuditEvent.objects.filter(event_type="inquiry.content_purged")
    assert {e.inquiry_id for e in purged} == {refused.id, never_run.id}
    detail = token_client(clinician).get(f"{CREATE}/{refused.id}").json()
    assert (detail["answer"], detail["redacted_question"]) == ("", "")
    assert detail["content_purged_at"]


@pytest.mark.django_db
def test_retention_follows_the_jurisdiction(catalog_domains, clinician, queued_ids):
    eu = submit(clinician, "Breach rules?", jurisdiction="EU")
    us = submit(clinician, "Breach rules?", jurisdiction="US")
    assert eu.retain_until - eu.created_at == timedelta(days=30)
    assert us.retain_until - us.created_at == timedelta(days=180)


@pytest.mark.django_db
def test_restored_values_only_for_the_requester_and_only_where_policy_allows(
    catalog_domains, clinician, queued_ids
):
    inquiry = run(submit(clinician, "Who is John Smith? Find the home address of John Smith."))
    client = token_client(clinician)
    url = f"{CREATE}/{inquiry.id}"
    plain = client.get(url).json()
    assert "<PERSON_1>" in plain["redacted_question"] and not plain["pii_restored"]
    restored = client.get(f"{url}?restore=true").json()
    assert "John Smith" in restored["redacted_question"] and restored["pii_restored"]

    other = make_user("colleague", "clinician")
    assert inquiry_content(inquiry, viewer=other, restore=True)["pii_restored"] is False
    Inquiry.objects.filter(pk=inquiry.id).update(
        policy_decision={**inquiry.policy_decision, "requester_may_see_restored_pii": False}
    )
    denied = client.get(f"{url}?restore=true").json()
    assert "John Smith" not in denied["redacted_question"] and not denied["pii_restored"]


@pytest.mark.django_db
def test_explain_shows_the_effective_policy_after_inheritance(catalog_domains, lawyer):
    client = token_client(lawyer)
    data = client.get("/api/v1/policies/EU-DE?domain=legal&role=lawyer").json()
    assert data["policy"]["id"] == "EU-DE"
    assert data["policy"]["inherits_from"] == ["EU", "base"]
    assert data["policy"]["version"] == policies().get("EU-DE").version
    assert data["accepted"] is True
    assert data["route"]["backend"] == {"model": "smollm2-135m-instruct", "region": "on-premises"}
    refusals = {r["category"]: r["action"] for r in data["refusals"]}
    assert refusals == {"reidentification": "refuse", "individualized_legal_advice": "refuse"}
    assert "NRP" in [e["type"] for e in data["pii"]["entities"]]
    assert data["officers_may_reveal_content"] is False
    assert data["retention_days"] == 30
    assert data["disclaimer"]["version"] == "base-legal-1"

    as_clinician = client.get("/api/v1/policies/US?domain=legal&role=clinician").json()
    assert (as_clinician["role_grants_domain"], as_clinician["accepted"]) == (False, False)
    adgm = client.get("/api/v1/policies/AE-ADGM?domain=legal").json()
    assert adgm["route"]["reason"] == "domain_not_offered" and adgm["accepted"] is False

    assert client.get("/api/v1/policies/MARS?domain=legal").status_code == 404
    assert client.get("/api/v1/policies/US?domain=astrology").json()["error"]["fields"]["domain"]
    assert client.get("/api/v1/policies/US").json()["error"]["fields"]["domain"]


@pytest.mark.django_db
def test_policy_list(catalog_domains, lawyer):
    data = token_client(lawyer).get("/api/v1/policies").json()["results"]
    by_id = {p["id"]: p for p in data}
    assert by_id["US-CA"]["extends"] == ["US", "base"]
    assert by_id["AE-ADGM"]["offered_domains"] == ["finance"]


@pytest.mark.django_db
def test_domains_list_only_jurisdictions_whose_policy_offers_them(catalog_domains, clinician):
    healthcare = catalog_domains["healthcare"]
    healthcare.jurisdictions = [*healthcare.jurisdictions, "AE-ADGM"]
    healthcare.save()
    data = token_client(clinician).get("/api/v1/domains").json()["results"]
    assert "AE-ADGM" not in [j["code"] for j in data[0]["jurisdictions"]]
