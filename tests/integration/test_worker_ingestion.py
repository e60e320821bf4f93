"""A running worker ingests an uploaded document and, without a restart, answers from it."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assistant import roles
from compliance.models import AuditEvent
from domains.models import DocumentUpload
from tests.conftest import make_user, token_client
from tests.integration.conftest import wait_until_finished

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

POLICY = (
    "# Tele-dermatology photo retention\n"
    "Photographs taken for tele-dermatology consultations are deleted from clinicians' phones "
    "within 24 hours, once uploaded to the patient's chart.\n"
)


def ask(client, question: str) -> str:
    response = client.post(
        "/api/v1/inquiries",
        {"domain": "healthcare", "jurisdiction": "US", "question": question},
        format="json",
    )
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def retrieved(inquiry_id: str) -> list[str]:
    event = AuditEvent.objects.get(inquiry_id=inquiry_id, event_type="inquiry.retrieved")
    return event.details["passage_ids"]


def test_a_running_worker_ingests_an_upload_and_retrieves_it_at_once(
    catalog_domains, clinician, tmp_path, monkeypatch, settings, request
):
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("ASSISTANT_UPLOAD_DIR", str(uploads))  # the worker's MEDIA_ROOT too
    settings.MEDIA_ROOT = uploads
    worker = request.getfixturevalue("worker")
    asker = token_client(clinician)
    question = "How soon must tele-dermatology photographs be deleted from clinicians' phones?"

    first = ask(asker, question)
    assert wait_until_finished(first, worker).status in ("answered", "refused")
    new_id = "teledermatology-policy#tele-dermatology-photo-retention"
    assert new_id not in retrieved(first)  # the worker has this domain's index loaded

    admin = make_user("platform-admin", roles.ADMIN)
    admin.is_staff = True
    admin.save()
    response = token_client(admin).post(
        "/api/v1/domains/healthcare/documents",
        {"file": SimpleUploadedFile("teledermatology-policy.md", POLICY.encode())},
        format="multipart",
    )
    assert response.status_code == 202
    deadline = time.monotonic() + 120
    upload = DocumentUpload.objects.get(token=response.json()["id"])
    while upload.status in ("queued", "running"):
        assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
        time.sleep(0.5)
        upload.refresh_from_db()
    assert upload.status == "done", upload.error

    second = ask(asker, question)
    wait_until_finished(second, worker)
    assert retrieved(second)[0] == new_id
