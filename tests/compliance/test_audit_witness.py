"""The attacks that the database's own checkpoints cannot catch: every checkpoint deleted and
the chain recomputed, the newest checkpoint deleted, the tables emptied and refilled. Each is
shown passing a verification that trusts the database, then caught by the witness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from compliance.audit_witness import WitnessError, witness_read
from compliance.models import AuditEvent
from compliance.services import audit_checkpoint_create, audit_verify
from tests.compliance.test_audit_trail import append, as_attacker, rehash_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def witness(settings, tmp_path, django_capture_on_commit_callbacks):
    """Twelve events, signed at #4 and #8, each checkpoint also written to the witness file
    (once its transaction commits)."""
    settings.AUDIT_WITNESS_FILE = str(tmp_path / "witness.jsonl")
    append(4)
    with django_capture_on_commit_callbacks(execute=True):
        audit_checkpoint_create()
    append(4)
    with django_capture_on_commit_callbacks(execute=True):
        audit_checkpoint_create()
    append(4)
    return tmp_path / "witness.jsonl"


def test_a_checkpoint_is_witnessed_only_once_its_transaction_commits(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.AUDIT_WITNESS_FILE = str(tmp_path / "witness.jsonl")
    append(2)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        audit_checkpoint_create()
    # Rolled back, the checkpoint would be in neither place.
    assert not (tmp_path / "witness.jsonl").exists()
    pending[0]()
    assert [cp["seq"] for cp in witness_read(tmp_path / "witness.jsonl")] == [2]


def kinds(report) -> list[tuple[str, int | None]]:
    return [(p.kind, p.checkpoint) for p in report.problems]


def test_every_checkpoint_is_witnessed_and_an_untouched_trail_agrees(witness):
    witnessed = witness_read(witness)
    assert [(cp["number"], cp["seq"]) for cp in witnessed] == [(1, 4), (2, 8)]
    report = audit_verify(record=False, witnessed=witnessed)
    assert report.ok, report.summary()
    assert report.witnessed_checked == 2
    assert "2 witnessed checkpoints agree" in report.summary()


def test_deleting_every_checkpoint_and_rehashing_is_caught_by_the_witness(witness):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint")
        cursor.execute("UPDATE compliance_auditevent SET outcome = 'failure' WHERE seq = 2")
        rehash_from(2, cursor)
    # The database alone now tells a consistent story.
    assert audit_verify(record=False, witnessed=[]).ok
    report = audit_verify(record=False, witnessed=witness_read(witness))
    assert not report.ok
    assert ("checkpoint_deleted", 1) in kinds(report) and ("checkpoint_deleted", 2) in kinds(report)
    # The witnessed signatures still anchor the chain: the rewrite is placed too.
    assert ("checkpoint_mismatch", 1) in kinds(report)
    assert report.first_problem.kind == "checkpoint_deleted"


def test_deleting_the_newest_checkpoint_is_caught_by_the_witness(witness):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint WHERE number = 2")
    alone = audit_verify(record=False, witnessed=[])
    assert alone.ok and alone.last_signed_seq == 4  # "signed up to" silently moved back
    report = audit_verify(record=False, witnessed=witness_read(witness))
    assert kinds(report) == [("checkpoint_deleted", 2)]
    assert "witnessed but not in the database" in report.first_problem.message


def test_emptying_and_refilling_the_tables_is_caught_by_the_witness(witness):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint")
        cursor.execute("DELETE FROM compliance_auditevent")
        cursor.execute("UPDATE compliance_auditchainhead SET seq = 0, hash = %s", ["0" * 64])
    append(5)
    assert audit_verify(record=False, witnessed=[]).ok
    report = audit_verify(record=False, witnessed=witness_read(witness))
    assert ("checkpoint_deleted", 1) in kinds(report)
    # Checkpoint #2 signed event #8, which the refilled trail no longer reaches.
    assert any(p.kind == "truncated" for p in report.problems)


def test_a_forged_witness_line_is_reported(witness):
    lines = witness.read_text().splitlines()
    witness.write_text(lines[0] + "\n" + lines[1].replace('"seq":8', '"seq":7') + "\n")
    report = audit_verify(record=False, witnessed=witness_read(witness))
    assert kinds(report) == [("witness_signature", 2)]


def test_the_checkpoint_log_serves_as_the_witness(witness, tmp_path):
    log = tmp_path / "checkpoints.log"
    log.write_text(
        "".join(
            f"2026-12-02 10:00:00,000 INFO compliance.audit.checkpoints audit checkpoint {line}\n"
            for line in witness.read_text().splitlines()
        )
    )
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint WHERE number = 2")
    with pytest.raises(CommandError, match="does not verify"):
        call_command("audit_verify", checkpoints=str(log), no_record=True)


def test_the_command_reads_the_configured_witness(witness, capsys):
    call_command("audit_verify", no_record=True)
    assert "2 witnessed checkpoints agree" in capsys.readouterr().out
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint")
    with pytest.raises(CommandError, match="does not verify"):
        call_command("audit_verify", no_record=True)


def test_an_unreadable_witness_names_the_file_and_line(tmp_path):
    path = tmp_path / "witness.jsonl"
    path.write_text('{"number": 1, "seq": 4}\n')
    with pytest.raises(WitnessError, match=r"witness.jsonl:1: not a checkpoint: it needs"):
        witness_read(path)
    path.write_text("\n{not json\n")
    with pytest.raises(CommandError, match=r"witness.jsonl:2: not a checkpoint"):
        call_command("audit_verify", checkpoints=str(path), no_record=True)
    with pytest.raises(CommandError, match="no such file"):
        call_command("audit_verify", checkpoints=str(tmp_path / "absent.jsonl"), no_record=True)


def test_the_scheduled_check_and_the_officer_ui_use_the_configured_witness(witness):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint WHERE number = 2")
    assert kinds(audit_verify(record=False)) == [("checkpoint_deleted", 2)]


def test_an_unreadable_configured_witness_fails_the_check(witness):
    witness.write_text("garbage\n")
    report = audit_verify(record=False)
    assert [p.kind for p in report.problems] == ["witness_unreadable"]
    assert "witness.jsonl:1" in report.first_problem.message


def test_events_left_unsigned_too_long_fail(witness):
    # Events #9..#12 are a few milliseconds old and unsigned.
    assert audit_verify(record=False, max_unsigned_age=timedelta(hours=1)).ok
    report = audit_verify(record=False, max_unsigned_age=timedelta(microseconds=1))
    assert [(p.kind, p.seq) for p in report.problems] == [("unsigned_too_long", 9)]
    audit_checkpoint_create()
    assert audit_verify(record=False, max_unsigned_age=timedelta(microseconds=1)).ok


def test_a_max_unsigned_age_must_be_positive():
    with pytest.raises(CommandError, match="--max-unsigned-age"):
        call_command("audit_verify", max_unsigned_age=0, no_record=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgresql_refuses_truncate_to_the_application_role(witness):
    from django.db.utils import ProgrammingError

    with connection.cursor() as cursor:
        # The fixture's inserts leave deferred foreign-key checks that TRUNCATE would trip on.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # A role like the application's: not a superuser, allowed to TRUNCATE as an owner is.
        cursor.execute("CREATE ROLE audit_truncate_probe NOLOGIN")
        cursor.execute(
            "GRANT TRUNCATE ON compliance_auditevent, compliance_auditcheckpoint "
            "TO audit_truncate_probe"
        )
        for table in ("compliance_auditevent", "compliance_auditcheckpoint"):
            with (
                pytest.raises(ProgrammingError, match="append-only: TRUNCATE"),
                transaction.atomic(),
            ):
                cursor.execute("SET LOCAL ROLE audit_truncate_probe")
                cursor.execute(f"TRUNCATE {table}")
        cursor.execute("RESET ROLE")
    assert AuditEvent.objects.count() == 12
    assert audit_verify(record=False, witnessed=witness_read(witness)).ok
