"""The compliance officer UI in a real browser: search, trace, reveal with a reason, verify,
statistics and export; non-officers cannot reach it."""

from __future__ import annotations

import pytest

from compliance.audit_chain import bundle_verify
from compliance.models import AuditEvent
from tests.browser.conftest import log_in, screenshot
from tests.compliance.officer_fixtures import ANSWER, demo_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    return demo_world()


def test_an_officer_searches_traces_and_reveals_with_a_reason(page, world, tmp_path):
    inquiry = world["hospital_inquiry"]
    log_in(page, "officer", "officer-password-123")
    page.goto("/compliance/")
    assert page.locator("#events tbody tr").count() > 0
    screenshot(page, "officer-audit-trail")

    page.select_option("#id_event_type", "inquiry.screened")
    page.click("text=Apply filter")
    rows = page.locator("#events tbody tr")
    assert rows.count() == 2  # the hospital's two inquiries; the law firm's is not visible
    assert "harbor-legal" not in page.content()

    page.fill("#id_inquiry", str(inquiry.id))
    page.click("text=Apply filter")
    page.locator("#events tbody tr a").first.click()
    page.wait_for_url(f"**/compliance/inquiries/{inquiry.id}/")
    assert page.locator("#trace tbody tr").count() == 3
    assert ANSWER not in page.content()
    screenshot(page, "officer-trace-before-reveal")

    page.fill("#id_reason", "Complaint ref 2026-114 about breach notification")
    page.click("#reveal-button")
    page.wait_for_selector("#revealed-answer")
    assert page.locator("#revealed-answer").inner_text() == ANSWER
    assert "<PERSON_1>" in page.locator("#revealed-question").inner_text()
    screenshot(page, "officer-trace-revealed")
    reveal = AuditEvent.objects.get(event_type="content.revealed")
    assert reveal.actor_label == "officer" and reveal.inquiry_id == inquiry.id


def test_an_officer_verifies_the_chain_sees_statistics_and_exports(page, world, tmp_path):
    log_in(page, "officer", "officer-password-123")
    page.goto("/compliance/")
    page.click("#verify-button")
    page.wait_for_selector("#verification-status .ok")
    assert "Verified" in page.locator("#verification-status").inner_text()
    screenshot(page, "officer-verified")

    page.click("nav.sub >> text=Statistics")
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() >= 2
    assert "2 answered" in page.locator("#totals").inner_text()
    screenshot(page, "officer-statistics")

    page.goto("/compliance/?domain=healthcare")
    with page.expect_download() as download:
        page.click("#export-button")
    bundle = tmp_path / "export.zip"
    download.value.save_as(bundle)
    report, manifest = bundle_verify(str(bundle))
    assert report.ok, report.summary()
    assert manifest["filter"] == {"domain": "healthcare"} and manifest["selected"]


@pytest.mark.parametrize("who", ["clinician", "lawyer"])
def test_non_officers_cannot_reach_the_officer_ui(page, world, who):
    log_in(page, who, f"{who}-password-123")
    response = page.goto("/compliance/")
    assert response.status == 403
    assert "Compliance officers only" in page.content()
    response = page.goto(f"/compliance/inquiries/{world['hospital_inquiry'].id}/")
    assert response.status == 403
    screenshot(page, f"{who}-denied")
    assert AuditEvent.objects.filter(event_type="access.denied", actor_label=who).count() == 2
