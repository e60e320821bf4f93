"""Documents uploaded through the API are stored, queued and ingested by the task."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from assistant import roles
from domains.models import DocumentUpload, Passage
from domains.services import upload_ingest
from tests.conftest import make_user, token_client
from tests.domains.documents_fixtures import write_docx

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    user = make_user("platform-admin", roles.ADMIN)
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def queued(monkeypatch):
    ids = []
    monkeypatch.setattr("domains.services.enqueue_upload", ids.append)
    return ids


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(client: APIClient, name: str, data: bytes, **fields):
    return client.post(
        "/api/v1/domains/healthcare/documents",
        {"file": SimpleUploadedFile(name, data), **fields},
        format="multipart",
    )


def test_an_upload_is_queued_then_ingested(
    staff, catalog_domains, queued, tmp_path, django_capture_on_commit_callbacks
):
    document = write_docx(
        tmp_path / "escalation.docx",
        [("Article 4 Breach escalation", 2), ("1. Tell the privacy office within one hour.", 0)],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            token_client(staff),
            "escalation.docx",
            document.read_bytes(),
            jurisdictions=["US"],
            citation_prefix="Northside Policy",
            effective_date="2026-03-01",
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["file"] == "escalation.docx"
    upload_row = DocumentUpload.objects.get(token=body["id"])
    assert queued == [upload_row.pk]

    upload_ingest(upload_id=upload_row.pk)
    status = token_client(staff).get(body["url"]).json()
    assert status["status"] == "done"
    assert status["result"]["added"] == 1
    passage = Passage.objects.get(domain__slug="healthcare", source="escalation.docx")
    assert passage.citation == "Northside Policy Art. 4(1)"
    assert passage.jurisdictions == ["US"]
    assert passage.metadata["effective_date"] == "2026-03-01"
    assert upload_ingest(upload_id=upload_row.pk) is None  # a redelivered task does nothing


def test_a_corrupt_upload_fails_with_its_reason(staff, catalog_domains, queued):
    response = upload(token_client(staff), "scan.pdf", b"not a pdf at all")
    assert response.status_code == 202
    done = upload_ingest(upload_id=DocumentUpload.objects.get().pk)
    assert done.status == "failed"
    assert done.error.startswith("scan.pdf: is not a readable PDF")


@pytest.mark.parametrize(
    ("name", "fields", "field", "message"),
    [
        ("tool.exe", {}, "file", "unsupported file type '.exe'"),
        ("a.md", {"jurisdictions": ["XX"]}, "jurisdictions", "Unknown jurisdictions: XX."),
        ("a.md", {"effective_date": "soon"}, "effective_date", "Date has wrong format"),
    ],
)
def test_bad_uploads_get_a_400_naming_the_field(
    staff, catalog_domains, queued, name, fields, field, message
):
    response = upload(token_client(staff), name, b"# Title\ntext\n", **fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in " ".join(error["fields"][field])
    assert not DocumentUpload.objects.exists()


def test_only_administrators_upload(catalog_domains, clinician, queued):
    response = upload(token_client(clinician), "a.md", b"# T\ntext\n")
    assert response.status_code == 403
    anonymous = upload(APIClient(), "a.md", b"# T\ntext\n")
    assert anonymous.status_code == 401
    missing = upload(token_client(make_staff()), "a.md", b"# T\n")
    assert missing.status_code == 202


def make_staff():
    user = make_user("another-admin", roles.ADMIN)
    user.is_staff = True
    user.save()
    return user


def test_administrators_upload_through_the_admin_too(
    staff, catalog_domains, queued, django_capture_on_commit_callbacks
):
    from django.test import Client

    from domains.models import Domain

    staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/domains/documentupload/add/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/domains/documentupload/add/",
            {
                "domain": Domain.objects.get(slug="healthcare").pk,
                "file": SimpleUploadedFile(
                    "rota.md", b"# On-call rota\nThe rota is kept for two years.\n"
                ),
                "jurisdictions": '["US"]',
                "citation_prefix": "",
                "effective_date": "",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    upload_row = DocumentUpload.objects.get()
    assert upload_row.uploaded_by == staff and queued == [upload_row.pk]
    assert upload_ingest(upload_id=upload_row.pk).status == "done"
    rejected = client.post(
        "/admin/domains/documentupload/add/",
        {
            "domain": Domain.objects.get(slug="healthcare").pk,
            "file": SimpleUploadedFile("x.exe", b"MZ"),
            "jurisdictions": "[]",
        },
    )
    assert rejected.status_code == 200 and b"File extension" in rejected.content


def ingest_one(client: APIClient, name: str, data: bytes) -> DocumentUpload:
    assert upload(client, name, data).status_code == 202
    return upload_ingest(upload_id=DocumentUpload.objects.get().pk)


def rezip(source: Path, replace: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w") as copy:
        for member in original.infolist():
            copy.writestr(member, replace.get(member.filename, original.read(member)))
        for name, data in replace.items():
            if name not in original.namelist():
                copy.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_a_docx_whose_xml_breaks_the_parser_fails_instead_of_running_for_ever(
    staff, catalog_domains, queued, tmp_path
):
    good = write_docx(tmp_path / "good.docx", [("1. A rule.", 0)])
    broken = rezip(good, {"word/document.xml": b"<w:document xmlns:w='x'><w:body><w:p>"})
    done = ingest_one(token_client(staff), "broken.docx", broken)
    assert done.status == "failed"
    assert done.error.startswith("broken.docx: is not a readable DOCX document")


def test_a_docx_that_expands_past_the_limit_fails_before_it_is_parsed(
    staff, catalog_domains, queued, tmp_path, monkeypatch
):
    monkeypatch.setattr("domains.documents.DOCX_MAX_EXPANDED_BYTES", 1024 * 1024)
    good = write_docx(tmp_path / "good.docx", [("1. A rule.", 0)])
    bomb = rezip(good, {"word/media/padding.bin": b"\0" * (3 * 1024 * 1024)})
    assert len(bomb) < 100_000  # small to send, large to open
    done = ingest_one(token_client(staff), "bomb.docx", bomb)
    assert done.status == "failed"
    assert done.error == "bomb.docx: expands to 3 MB, more than the 1 MB a DOCX document may"


def test_a_document_with_more_passages_than_allowed_fails(staff, catalog_domains, queued, settings):
    settings.DOCUMENT_MAX_PASSAGES = 2
    text = "".join(f"# Section {n}\n\n{n}. Rule number {n} applies.\n\n" for n in range(1, 4))
    done = ingest_one(token_client(staff), "rules.md", text.encode())
    assert done.status == "failed"
    assert "yields 3 passages, more than the 2 one document may" in done.error
    assert not Passage.objects.filter(source="rules.md").exists()


def test_any_parser_crash_ends_the_upload_failed(staff, catalog_domains, queued, monkeypatch):
    def crash(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("domains.services.parse_file", crash)
    done = ingest_one(token_client(staff), "deep.md", b"# Title\n\nText.\n")
    assert (done.status, done.error) == ("failed", "deep.md: could not be parsed (RecursionError)")


def test_an_upload_whose_worker_keeps_dying_is_given_up(staff, catalog_domains, queued, settings):
    settings.UPLOAD_MAX_ATTEMPTS = 3
    assert upload(token_client(staff), "rules.md", b"# A\n\n1. Rule.\n").status_code == 202
    row = DocumentUpload.objects.get()
    # Three deliveries claimed it and died (kill -9 leaves it running, claimed).
    DocumentUpload.objects.filter(pk=row.pk).update(status="running", attempts=3)
    done = upload_ingest(upload_id=row.pk)
    assert done.status == "failed" and done.attempts == 4
    assert "given up after 3 attempts" in done.error
    assert not Passage.objects.filter(source="rules.md").exists()
