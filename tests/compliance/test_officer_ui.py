"""The compliance officer UI through Django's test client (the browser tests are in
tests/browser)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from compliance.audit_chain import bundle_verify
from compliance.models import AuditEvent
from tests.compliance.officer_fixtures import ANSWER, QUESTION, demo_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return demo_world()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_log_in(world):
    response = Client().get(reverse("compliance:events"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["clinician", "lawyer", "admin"])
@pytest.mark.parametrize(
    "url",
    ["compliance:events", "compliance:statistics", "compliance:verify", "compliance:export"],
)
def test_non_officers_cannot_reach_any_page_and_are_audited(world, who, url):
    before = AuditEvent.objects.filter(event_type="access.denied").count()
    client = client_for(world[who])
    response = (
        client.post(reverse(url))
        if url.endswith(("verify", "export"))
        else client.get(reverse(url))
    )
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(event_type="access.denied")
    assert denied.count() == before + 1
    assert denied.last().actor == world[who]
    assert denied.last().details["action"] == "audit.view"


def test_non_officers_cannot_open_a_trace(world):
    url = reverse("compliance:trace", args=[world["hospital_inquiry"].id])
    assert client_for(world["clinician"]).get(url).status_code == 403


def test_officers_see_their_organization_and_platform_events_only(world):
    response = client_for(world["officer"]).get(reverse("compliance:events"))
    assert response.status_code == 200
    shown = {e.organization for e in response.context["page"].object_list}
    assert "northside-health" in shown
    assert "harbor-legal" not in shown
    firm = client_for(world["firm_officer"]).get(reverse("compliance:events"))
    assert {e.organization for e in firm.context["page"].object_list} <= {"harbor-legal", ""}


def test_filters_combine(world):
    client = client_for(world["officer"])
    response = client.get(
        reverse("compliance:events"),
        {"event_type": "inquiry.screened", "outcome": "success", "jurisdiction": "EU-DE"},
    )
    events = list(response.context["page"].object_list)
    assert [e.inquiry_id for e in events] == [world["german_inquiry"].id]
    by_user = client.get(reverse("compliance:events"), {"user": "clinician"})
    assert {e.actor_label for e in by_user.context["page"].object_list} == {"clinician"}
    today = AuditEvent.objects.last().created_at.date()
    in_range = client.get(reverse("compliance:events"), {"date_from": today, "date_to": today})
    assert in_range.context["page"].paginator.count > 0


def test_a_bad_filter_is_a_clear_400(world):
    client = client_for(world["officer"])
    response = client.get(
        reverse("compliance:events"), {"date_from": "2026-02-10", "date_to": "2026-01-01"}
    )
    assert response.status_code == 400
    assert b"&#x27;From&#x27; must be on or before &#x27;To&#x27;." in response.content
    response = client.get(reverse("compliance:events"), {"inquiry": "not-a-uuid", "date_from": "x"})
    assert response.status_code == 400
    assert b"Enter a valid UUID." in response.content
    assert b"Enter a valid date." in response.content


@pytest.mark.parametrize(
    "page", ["compliance:events", "compliance:export", "compliance:statistics"]
)
def test_a_date_at_the_end_of_the_calendar_is_a_400_not_a_500(world, page):
    # The day after "To" bounds the search; for 9999-12-31 it does not exist.
    client = client_for(world["officer"])
    send = client.post if page == "compliance:export" else client.get
    response = send(reverse(page), {"date_from": "2026-01-01", "date_to": "9999-12-31"})
    assert response.status_code == 400
    assert b"Dates go up to 9999-12-29." in response.content


def test_the_trace_shows_every_step_but_no_content_before_a_reveal(world):
    inquiry = world["hospital_inquiry"]
    response = client_for(world["officer"]).get(reverse("compliance:trace", args=[inquiry.id]))
    assert response.status_code == 200
    assert [e.event_type for e in response.context["trail"]] == [
        "inquiry.received",
        "inquiry.screened",
        "inquiry.answered",
    ]
    body = response.content.decode()
    assert "1 PERSON" in body
    assert QUESTION.split("'")[1] not in body and ANSWER not in body
    assert "reveal-button" in body


def test_a_reveal_needs_a_reason_and_is_audited_without_the_reasons_personal_data(world):
    inquiry = world["hospital_inquiry"]
    client = client_for(world["officer"])
    url = reverse("compliance:trace", args=[inquiry.id])
    short = client.post(url, {"reason": "because"})
    assert short.status_code == 400
    assert ANSWER not in short.content.decode()
    assert not AuditEvent.objects.filter(event_type="content.revealed").exists()

    response = client.post(url, {"reason": "Complaint from patient Maria Gonzalez about a breach"})
    assert response.status_code == 200
    body = response.content.decode()
    assert ANSWER in body and "&lt;PERSON_1&gt;" in body
    assert "Dr. Alice Moreno" not in body  # officers see placeholders, never restored values
    reveal = AuditEvent.objects.get(event_type="content.revealed")
    assert reveal.actor == world["officer"]
    assert reveal.inquiry_id == inquiry.id
    assert reveal.organization == "northside-health"
    assert "Maria Gonzalez" not in reveal.content
    assert reveal.details["reason_entities"] == {"PERSON": 1}
    assert reveal.details["reason"].startswith("Complaint from patient <PERSON_REDACTED>")


def test_a_policy_that_forbids_reveals_is_obeyed_and_the_attempt_audited(world):
    inquiry = world["german_inquiry"]
    client = client_for(world["officer"])
    url = reverse("compliance:trace", args=[inquiry.id])
    page = client.get(url).content.decode()
    assert "does not allow compliance officers to read" in page and "reveal-button" not in page
    response = client.post(url, {"reason": "Investigating a complaint, ref 2026-114"})
    assert response.status_code == 403
    assert ANSWER not in response.content.decode()
    denied = AuditEvent.objects.filter(event_type="access.denied").last()
    assert denied.details == {"action": "content.reveal", "reason": "policy_forbids"}


def test_another_organizations_inquiry_is_not_found(world):
    url = reverse("compliance:trace", args=[world["firm_inquiry"].id])
    assert client_for(world["officer"]).get(url).status_code == 404
    assert client_for(world["firm_officer"]).get(url).status_code == 200


def test_verify_button_reports_and_records_the_result(world):
    client = client_for(world["officer"])
    response = client.post(reverse("compliance:verify"), follow=True)
    assert response.status_code == 200
    assert b"OK: " in response.content
    assert b"Verified" in response.content
    event = AuditEvent.objects.filter(event_type="audit.verified").last()
    assert event.actor == world["officer"] and event.outcome == "success"


def test_export_of_the_current_filter_verifies_offline(world, tmp_path):
    client = client_for(world["officer"])
    response = client.post(reverse("compliance:export"), {"domain": "healthcare"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    path = tmp_path / "export.zip"
    path.write_bytes(b"".join(response.streaming_content))
    report, manifest = bundle_verify(str(path))
    assert report.ok, report.summary()
    assert manifest["filter"] == {"domain": "healthcare"}
    expected = AuditEvent.objects.filter(domain="healthcare", organization="northside-health")
    assert manifest["selected"] == sorted(e.seq for e in expected if e.seq <= report.head_seq)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as bundle:
        assert "audit_chain.py" in bundle.namelist()
    exported = AuditEvent.objects.get(event_type="audit.exported")
    assert exported.actor == world["officer"]


def test_statistics_count_outcomes_refusals_and_entities(world):
    response = client_for(world["officer"]).get(reverse("compliance:statistics"))
    assert response.status_code == 200
    stats = response.context["stats"]
    assert stats["totals"] == {"answered": 2, "refused": 0, "failed": 0}
    assert stats["entities"] == [("PERSON", 2)]
    assert b"<svg" in response.content


def test_logins_and_failed_logins_are_recorded(world):
    client = Client()
    login = reverse("login")
    assert client.post(login, {"username": "officer", "password": "wrong"}).status_code == 200
    assert client.post(login, {"username": "nobody-such", "password": "wrong"}).status_code == 200
    ok = client.post(login, {"username": "officer", "password": "officer-password-123"})
    assert ok.status_code == 302
    client.post(reverse("logout"))
    events = list(
        AuditEvent.objects.filter(event_type__startswith="auth.").values_list(
            "event_type", "actor_label", "details"
        )
    )
    assert events[-4:] == [
        ("auth.login_failed", "officer", {"channel": "portal", "account_exists": True}),
        ("auth.login_failed", "system", {"channel": "portal", "account_exists": False}),
        ("auth.login", "officer", {"channel": "portal"}),
        ("auth.logout", "officer", {"channel": "portal"}),
    ]
    assert "nobody-such" not in "".join(AuditEvent.objects.values_list("content", flat=True))


def test_admins_cannot_edit_the_trail_and_officers_cannot_change_domains(world):
    event = AuditEvent.objects.first()
    admin = client_for(world["admin"])
    change = admin.post(
        reverse("admin:compliance_auditevent_change", args=[event.pk]), {"outcome": "failure"}
    )
    assert change.status_code == 403
    delete = admin.post(
        reverse("admin:compliance_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).outcome == event.outcome
    officer = client_for(world["officer"])
    response = officer.get(reverse("admin:domains_domain_changelist"))
    assert response.status_code == 302  # not staff: the admin sends them to its login


def test_officers_land_on_the_audit_trail_and_see_its_link(world):
    client = client_for(world["officer"])
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("compliance:events")
    page = client.get(reverse("compliance:events")).content.decode()
    assert 'href="/compliance/">Audit trail</a>' in page
    clinician_page = client_for(world["clinician"]).get("/").content.decode()
    assert "Audit trail" not in clinician_page


def test_statistics_list_every_day_of_the_range(world):
    response = client_for(world["officer"]).get(
        reverse("compliance:statistics"), {"date_from": "2026-01-01", "date_to": "2026-01-07"}
    )
    days = [day for day, _ in response.context["stats"]["per_day"]]
    assert days == [f"2026-01-0{d}" for d in range(1, 8)]


def test_api_token_logins_and_failures_are_recorded(world):
    from rest_framework.test import APIClient

    client = APIClient()
    bad = client.post(
        "/api/v1/auth/token", {"username": "clinician", "password": "nope"}, format="json"
    )
    assert bad.status_code == 400
    good = client.post(
        "/api/v1/auth/token",
        {"username": "clinician", "password": "clinician-password-123"},
        format="json",
    )
    assert good.status_code == 201 and good.json()["token"]
    events = list(
        AuditEvent.objects.filter(event_type__startswith="auth.").values_list(
            "event_type", "actor_label", "details"
        )
    )
    assert events[-2:] == [
        ("auth.login_failed", "clinician", {"channel": "api", "account_exists": True}),
        (
            "auth.login",
            "clinician",
            {"channel": "api", "method": "token", "token": good.json()["id"]},
        ),
    ]
