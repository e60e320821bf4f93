"""Tamper with the trail the way someone with database access could, and check that
verification names the first bad event or the failed checkpoint every time."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from compliance.audit_chain import canonical, chain_hash
from compliance.models import AppendOnlyError, AuditChainHead, AuditEvent
from compliance.services import audit_checkpoint_create, audit_event_record, audit_verify

pytestmark = pytest.mark.django_db


def append(n: int) -> None:
    for i in range(n):
        audit_event_record(
            actor=None,
            event_type=AuditEvent.Type.DOMAIN_SYNCED,
            outcome=AuditEvent.Outcome.SUCCESS,
            domain="healthcare",
            details={"entities": {"PERSON": i % 3}, "ms": 1.5 * i},
        )


@pytest.fixture
def trail():
    """Twelve events, signed at #4 and #8; #9..#12 not yet signed."""
    append(4)
    audit_checkpoint_create()
    append(4)
    audit_checkpoint_create()
    append(4)


@contextmanager
def as_attacker():
    """Raw SQL with triggers off, as the database owner could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = origin")


def first_problem():
    report = audit_verify(record=False)
    assert not report.ok
    return report.first_problem


def rehash_from(seq: int, cursor) -> None:
    """Recompute content and hashes from ``seq`` on, as an attacker without the key would."""
    cursor.execute("SELECT hash FROM compliance_auditevent WHERE seq = %s", [seq - 1])
    prev = cursor.fetchone()[0] if seq > 1 else "0" * 64
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        content = canonical(event.columns())
        digest = chain_hash(prev, content)
        cursor.execute(
            "UPDATE compliance_auditevent SET content = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [content, prev, digest, event.seq],
        )
        prev = digest
    cursor.execute("UPDATE compliance_auditchainhead SET hash = %s", [prev])


def test_an_untouched_trail_verifies(trail):
    report = audit_verify(record=False)
    assert report.ok, report.summary()
    assert (report.events_checked, report.checkpoints_checked) == (12, 2)
    assert (report.head_seq, report.last_signed_seq) == (12, 8)


def test_verification_is_recorded_in_the_trail(trail):
    audit_verify()
    event = AuditEvent.objects.last()
    assert (event.seq, event.event_type, event.outcome) == (13, "audit.verified", "success")
    assert event.details["events_checked"] == 12
    assert audit_verify(record=False).ok


def test_editing_a_column_names_the_event(trail):
    with as_attacker() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET outcome = 'failure' WHERE seq = 6")
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("edited", 6)
    assert "outcome" in problem.message


def test_editing_details_names_the_event(trail):
    with as_attacker() as cursor:
        cursor.execute(
            "UPDATE compliance_auditevent SET details = %s WHERE seq = 3",
            [json.dumps({"entities": {"PERSON": 0}, "ms": 3.0})],
        )
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("edited", 3)


def test_editing_the_hashed_content_names_the_event(trail):
    with as_attacker() as cursor:
        cursor.execute(
            "UPDATE compliance_auditevent SET content = REPLACE(content, 'success', 'failure') "
            "WHERE seq = 10"
        )
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("edited", 10)


def test_editing_and_rehashing_one_event_names_it(trail):
    with as_attacker() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET domain = 'legal' WHERE seq = 10")
        event = AuditEvent.objects.get(seq=10)
        content = canonical(event.columns())
        cursor.execute(
            "UPDATE compliance_auditevent SET content = %s, hash = %s WHERE seq = 10",
            [content, chain_hash(event.prev_hash, content)],
        )
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("edited", 10)


def test_deleting_an_event_names_it(trail):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE seq = 5")
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("missing", 5)


def test_deleting_and_renumbering_names_the_position(trail):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE seq = 5")
        cursor.execute("UPDATE compliance_auditevent SET seq = seq + 1000 WHERE seq > 5")
        cursor.execute("UPDATE compliance_auditevent SET seq = seq - 1001 WHERE seq > 1000")
        cursor.execute("UPDATE compliance_auditchainhead SET seq = seq - 1")
    problem = first_problem()
    assert problem.seq == 5


def test_swapping_two_events_names_the_first(trail):
    with as_attacker() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET seq = 1000 WHERE seq = 3")
        cursor.execute("UPDATE compliance_auditevent SET seq = 3 WHERE seq = 7")
        cursor.execute("UPDATE compliance_auditevent SET seq = 7 WHERE seq = 1000")
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("reordered", 3)


def test_swapping_neighbours_names_the_first(trail):
    with as_attacker() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET seq = 1000 WHERE seq = 10")
        cursor.execute("UPDATE compliance_auditevent SET seq = 10 WHERE seq = 11")
        cursor.execute("UPDATE compliance_auditevent SET seq = 11 WHERE seq = 1000")
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("reordered", 10)


def test_inserting_an_event_names_it(trail):
    """A forged event linked correctly to its predecessor, later events renumbered."""
    victim = AuditEvent.objects.get(seq=6)
    with as_attacker() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET seq = seq + 1000 WHERE seq > 6")
        cursor.execute("UPDATE compliance_auditevent SET seq = seq - 999 WHERE seq > 1000")
        cursor.execute("UPDATE compliance_auditchainhead SET seq = seq + 1")
        forged = victim.columns() | {"seq": 7, "outcome": "denied"}
        content = canonical(forged)
        cursor.execute(
            "INSERT INTO compliance_auditevent (seq, created_at, actor_label, organization, "
            "domain, jurisdiction, event_type, outcome, details, content, prev_hash, hash) "
            "VALUES (7, %s, 'system', '', 'healthcare', '', 'domain.synced', 'denied', %s, %s, "
            "%s, %s)",
            [
                victim.created_at,
                json.dumps(victim.details),
                content,
                victim.hash,
                chain_hash(victim.hash, content),
            ],
        )
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("inserted", 7)


def test_truncating_signed_events_names_the_first_missing(trail):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE seq > 6")
        cursor.execute(
            "UPDATE compliance_auditchainhead SET seq = 6, hash = "
            "(SELECT hash FROM compliance_auditevent WHERE seq = 6)"
        )
    problem = first_problem()
    assert (problem.kind, problem.seq, problem.checkpoint) == ("truncated", 7, 2)


def test_truncating_the_unsigned_tail_is_caught_by_the_head(trail):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditevent WHERE seq > 10")
    problem = first_problem()
    assert (problem.kind, problem.seq) == ("truncated", 11)


def test_recomputing_the_chain_without_the_key_fails_the_checkpoint(trail):
    with as_attacker() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET outcome = 'failure' WHERE seq = 2")
        rehash_from(2, cursor)
    report = audit_verify(record=False)
    assert not report.ok
    assert {p.kind for p in report.problems} == {"checkpoint_mismatch"}
    problem = report.first_problem
    assert problem.checkpoint == 1
    assert "rewritten at or before event #4" in problem.message


def test_forging_the_checkpoint_hash_fails_its_signature(trail):
    with as_attacker() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET outcome = 'failure' WHERE seq = 6")
        rehash_from(6, cursor)
        cursor.execute(
            "UPDATE compliance_auditcheckpoint SET hash = "
            "(SELECT hash FROM compliance_auditevent WHERE seq = 8) WHERE number = 2"
        )
    report = audit_verify(record=False)
    assert [(p.kind, p.checkpoint) for p in report.problems] == [("checkpoint_signature", 2)]


def test_deleting_a_checkpoint_is_detected(trail):
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM compliance_auditcheckpoint WHERE number = 1")
    problem = first_problem()
    assert (problem.kind, problem.checkpoint) == ("checkpoint_missing", 1)


def test_a_checkpoint_signed_by_another_key_is_not_trusted(trail, settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "other-key.pem"
    problem = first_problem()
    assert problem.kind == "checkpoint_unknown_key"


def test_checkpoints_only_sign_new_events(trail):
    assert audit_checkpoint_create().seq == 12
    assert audit_checkpoint_create() is None


def test_the_orm_refuses_to_change_events(trail):
    event = AuditEvent.objects.get(seq=1)
    event.outcome = "failure"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(seq=1).update(outcome="failure")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE compliance_auditevent SET outcome = 'failure' WHERE seq = 1",
        "DELETE FROM compliance_auditevent WHERE seq = 1",
        "UPDATE compliance_auditcheckpoint SET seq = 1",
        "DELETE FROM compliance_auditcheckpoint",
    ],
)
def test_postgresql_refuses_update_and_delete(trail, statement):
    from django.db.utils import ProgrammingError

    with (
        pytest.raises(ProgrammingError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert audit_verify(record=False).ok


def test_the_head_follows_the_chain(trail):
    head = AuditChainHead.objects.get()
    last = AuditEvent.objects.last()
    assert (head.seq, head.hash) == (12, last.hash)
    assert last.prev_hash == AuditEvent.objects.get(seq=11).hash
