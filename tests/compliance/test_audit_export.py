"""Export bundles and the standalone verifier that ships in the repository."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from compliance.audit_chain import bundle_verify
from compliance.models import AuditCheckpoint, AuditEvent
from compliance.services import audit_checkpoint_create, audit_event_record, audit_export

pytestmark = pytest.mark.django_db

# Blocks Django, so the verifier proves it needs only the standard library and cryptography.
RUN_WITHOUT_DJANGO = (
    "import runpy, sys; sys.modules['django'] = None; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def append(domain: str, n: int = 1) -> None:
    for _ in range(n):
        audit_event_record(
            actor=None,
            event_type=AuditEvent.Type.DOMAIN_SYNCED,
            outcome=AuditEvent.Outcome.SUCCESS,
            domain=domain,
            details={"passages": 3},
        )


@pytest.fixture
def mixed_trail():
    """legal events at #5-#6 and #14, the rest healthcare; checkpoints at #4, #8, #12."""
    append("healthcare", 4)
    audit_checkpoint_create()
    append("legal", 2)
    append("healthcare", 2)
    audit_checkpoint_create()
    append("healthcare", 4)
    audit_checkpoint_create()
    append("healthcare")
    append("legal")


def export(tmp_path, events, name="bundle.zip"):
    path = tmp_path / name
    with path.open("wb") as output:
        manifest = audit_export(
            actor=None, events=events, description={"domain": "legal"}, output=output
        )
    return path, manifest


def run_verifier(tmp_path, bundle):
    """Run the copy of the verifier inside the bundle, from outside the repository."""
    with zipfile.ZipFile(bundle) as archive:
        (tmp_path / "audit_chain.py").write_bytes(archive.read("audit_chain.py"))
    return subprocess.run(
        [sys.executable, "-I", "-c", RUN_WITHOUT_DJANGO, "audit_chain.py", str(bundle)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_export_holds_the_selected_events_and_the_runs_that_prove_them(tmp_path, mixed_trail):
    bundle, manifest = export(tmp_path, AuditEvent.objects.filter(domain="legal"))
    assert manifest["selected"] == [5, 6, 14]
    # The export signed the head first (#14), so the last run ends there.
    assert manifest["runs"] == [[5, 8], [13, 14]]
    with zipfile.ZipFile(bundle) as archive:
        seqs = [json.loads(line)["seq"] for line in archive.read("events.jsonl").splitlines()]
        assert seqs == [5, 6, 7, 8, 13, 14]
        assert len(archive.read("checkpoints.jsonl").splitlines()) == 4
    exported = AuditEvent.objects.last()
    assert exported.event_type == "audit.exported"
    assert exported.details["selected"] == 3


def test_the_offline_verifier_accepts_a_real_export(tmp_path, mixed_trail):
    bundle, _ = export(tmp_path, AuditEvent.objects.filter(domain="legal"))
    result = run_verifier(tmp_path, bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: 6 events and 4 signed checkpoints verify" in result.stdout
    assert "selected events: 3" in result.stdout


def rewrite_member(bundle, member, edit):
    with zipfile.ZipFile(bundle) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents[member] = edit(contents[member])
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def test_the_offline_verifier_names_an_edited_event(tmp_path, mixed_trail):
    bundle, _ = export(tmp_path, AuditEvent.objects.filter(domain="legal"))

    def edit(data: bytes) -> bytes:
        lines = data.splitlines()
        event = json.loads(lines[1])
        event["content"] = event["content"].replace('"success"', '"denied"')
        lines[1] = json.dumps(event).encode()
        return b"\n".join(lines) + b"\n"

    rewrite_member(bundle, "events.jsonl", edit)
    result = run_verifier(tmp_path, bundle)
    assert result.returncode == 1
    assert "FAILED: event #6 was edited" in result.stdout


def test_the_offline_verifier_catches_a_dropped_event(tmp_path, mixed_trail):
    bundle, _ = export(tmp_path, AuditEvent.objects.filter(domain="legal"))

    def drop(data: bytes) -> bytes:
        lines = data.splitlines()
        del lines[2]  # event #7, between two selected runs' checkpoints
        return b"\n".join(lines) + b"\n"

    rewrite_member(bundle, "events.jsonl", drop)
    report, _ = bundle_verify(str(bundle))
    assert (report.first_problem.kind, report.first_problem.seq) == ("missing", 7)


def test_the_offline_verifier_rejects_a_swapped_public_key(tmp_path, mixed_trail):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from compliance.audit_chain import public_keys_pem

    bundle, _ = export(tmp_path, AuditEvent.objects.filter(domain="legal"))
    other = public_keys_pem([Ed25519PrivateKey.generate().public_key()])
    rewrite_member(bundle, "public_keys.pem", lambda _: other)
    report, _ = bundle_verify(str(bundle))
    assert report.first_problem.kind == "checkpoint_unknown_key"


def test_the_offline_verifier_reports_an_unreadable_file(tmp_path):
    bad = tmp_path / "not-a-bundle.zip"
    bad.write_bytes(b"not a zip")
    result = run_verifier_plain(bad)
    assert result.returncode == 2
    assert "not-a-bundle.zip: cannot read the bundle" in result.stderr


def run_verifier_plain(bundle):
    from compliance import audit_chain

    return subprocess.run(
        [sys.executable, audit_chain.__file__, str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_empty_selection_exports_an_empty_verifiable_bundle(tmp_path, mixed_trail):
    buffer = io.BytesIO()
    audit_export(actor=None, events=AuditEvent.objects.none(), description={}, output=buffer)
    buffer.seek(0)
    path = tmp_path / "empty.zip"
    path.write_bytes(buffer.getvalue())
    report, manifest = bundle_verify(str(path))
    assert report.ok and manifest["selected"] == []
    assert AuditCheckpoint.objects.count() == 4


def test_the_export_command_writes_a_verifiable_bundle(tmp_path, mixed_trail):
    from django.core.management import call_command

    out = io.StringIO()
    path = tmp_path / "cli.zip"
    call_command("audit_export", "--output", str(path), "--domain", "legal", stdout=out)
    assert "3 selected events in 2 signed runs" in out.getvalue()
    report, manifest = bundle_verify(str(path))
    assert report.ok and manifest["filter"] == {"domain": "legal"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01"], "--from: Enter a valid date."),
        (
            ["--from", "2026-02-01", "--to", "2026-01-01"],
            "--from/--to: 'From' must be on or before",
        ),
        (["--domain", "astrology"], "--domain: Select a valid choice."),
        (["--type", "inquiry.nothing"], "--type: Select a valid choice."),
    ],
)
def test_the_export_command_names_a_bad_filter(tmp_path, mixed_trail, args, message):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=message):
        call_command("audit_export", "--output", str(tmp_path / "x.zip"), *args)
    assert not (tmp_path / "x.zip").exists()


def test_the_verify_command_fails_with_status_1_on_a_tampered_trail(mixed_trail):
    from django.core.management import CommandError, call_command
    from django.db import connection

    out = io.StringIO()
    call_command("audit_verify", "--no-record", stdout=out, verbosity=0)
    assert out.getvalue().startswith("OK: 14 events and 3 signed checkpoints verify")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE compliance_auditevent SET domain = 'finance' WHERE seq = 9")
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify", "--no-record", stdout=out, verbosity=0)
    assert failure.value.returncode == 1
    assert "FAILED: event #9 was edited: stored domain differs" in out.getvalue()
