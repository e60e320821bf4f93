from __future__ import annotations

import io
import json
import logging
import uuid
import zipfile
from bisect import bisect_left
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from compliance import audit_chain
from compliance.audit_chain import Problem, Report, canonical, chain_hash
from compliance.audit_witness import WitnessError, configured_witness, witness_append
from compliance.models import AuditChainHead, AuditCheckpoint, AuditEvent, audit_time
from compliance.signing import signing_key, trusted_public_keys

# Checkpoints also go to this logger: shipped off the machine, the log is a witness the
# database cannot rewrite.
checkpoint_logger = logging.getLogger("compliance.audit.checkpoints")


def organization_of(user: AbstractBaseUser | None) -> str:
    if user is None or not user.is_authenticated:
        return ""
    try:
        return user.membership.organization.slug
    except ObjectDoesNotExist:
        return ""


def _head_locked() -> AuditChainHead:
    # The row lock serialises appenders until their transaction commits: one successor per
    # event and no skipped numbers, however many processes write.
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    return head


@transaction.atomic
def audit_event_record(
    *,
    actor: AbstractBaseUser | None,
    event_type: AuditEvent.Type,
    outcome: AuditEvent.Outcome,
    inquiry_id: uuid.UUID | None = None,
    domain: str = "",
    jurisdiction: str = "",
    organization: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. ``actor=None`` means the system (a worker, a command).

    Call it inside the transaction of the change it describes, as its last statement, so that the
    change and its record commit or roll back together and the chain is locked briefly.
    ``organization`` defaults to the actor's.
    """
    user = actor if actor is not None and actor.is_authenticated else None
    head = _head_locked()
    event = AuditEvent(
        seq=head.seq + 1,
        created_at=timezone.now(),
        actor=user,
        actor_label=user.get_username() if user else "system",
        organization=organization if organization is not None else organization_of(user),
        inquiry_id=inquiry_id,
        domain=domain,
        jurisdiction=jurisdiction,
        event_type=event_type,
        outcome=outcome,
        # A JSON round trip, so the content hashes exactly what the column will return.
        details=json.loads(json.dumps(details or {})),
        prev_hash=head.hash,
    )
    event.content = canonical(event.columns())
    event.hash = chain_hash(event.prev_hash, event.content)
    event.save(force_insert=True)
    head.seq, head.hash = event.seq, event.hash
    head.save(update_fields=["seq", "hash"])
    return event


def policies_record_changes() -> list[dict[str, str]]:
    """Record each jurisdiction policy added, changed or removed since the trail last saw it.
    Policies are files; every worker start and domain sync calls this."""
    from compliance.policy import policies

    current = {code: p.version for code, p in policies().policies.items()}
    recorded = []
    with transaction.atomic():
        _head_locked()  # two processes starting together record a change once
        known: dict[str, str] = {}
        seen = AuditEvent.objects.filter(event_type=AuditEvent.Type.POLICY_CHANGED).order_by("seq")
        for details in seen.values_list("details", flat=True):
            if details.get("change") == "removed":
                known.pop(details["jurisdiction"], None)
            else:
                known[details["jurisdiction"]] = details["version"]
        for code in sorted(set(current) | set(known)):
            if code not in known:
                change = "added"
            elif code not in current:
                change = "removed"
            elif known[code] != current[code]:
                change = "changed"
            else:
                continue
            details = {
                "jurisdiction": code,
                "change": change,
                "version": current.get(code, ""),
                "previous_version": known.get(code, ""),
            }
            audit_event_record(
                actor=None,
                event_type=AuditEvent.Type.POLICY_CHANGED,
                outcome=AuditEvent.Outcome.SUCCESS,
                jurisdiction=code,
                details=details,
            )
            recorded.append(details)
    return recorded


def audit_checkpoint_create() -> AuditCheckpoint | None:
    """Sign the current chain head; None when there is nothing new to sign."""
    key = signing_key()
    with transaction.atomic():
        head = _head_locked()
        last = AuditCheckpoint.objects.order_by("-number").first()
        if head.seq == 0 or (last is not None and last.seq == head.seq):
            return None
        signed = audit_chain.checkpoint_sign(
            key,
            number=last.number + 1 if last else 1,
            seq=head.seq,
            hash=head.hash,
            signed_at=audit_time(timezone.now()),
        )
        checkpoint = AuditCheckpoint.objects.create(**signed)
    checkpoint_logger.info("audit checkpoint %s", canonical(signed))
    # After the commit (of the outermost transaction too): a witnessed checkpoint that never
    # reached the database would read as a deleted one, while one missing from the witness
    # only narrows what it proves.
    if settings.AUDIT_WITNESS_FILE:
        path, line = Path(settings.AUDIT_WITNESS_FILE), canonical(signed)
        transaction.on_commit(lambda: witness_append(path, line))
    return checkpoint


def _events_for_verify(last_seq: int, *, start: int = 1) -> Iterator[dict[str, Any]]:
    events = AuditEvent.objects.filter(seq__gte=start, seq__lte=last_seq).order_by("seq")
    for event in events.iterator(chunk_size=2000):
        yield {
            "seq": event.seq,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
            "content": event.content,
            "columns": event.columns(),
        }


def audit_verify(
    *,
    actor: AbstractBaseUser | None = None,
    record: bool = True,
    progress: Callable[[Iterator[dict[str, Any]], int], Iterator[dict[str, Any]]] | None = None,
    witnessed: list[dict[str, Any]] | None = None,
    max_unsigned_age: timedelta | None = None,
) -> Report:
    """Check the whole chain, its head and every checkpoint; record the outcome in the trail.
    ``progress`` wraps the event stream (given its length), for a progress bar. ``witnessed``
    are checkpoints kept outside the database (``audit_witness.witness_read``; by default the
    ``AUDIT_WITNESS_FILE``, ``[]`` for none); with
    ``max_unsigned_age``, events left unsigned for longer fail the check (checkpoints stopped,
    or the newest ones were deleted)."""
    # The head first: events up to it are committed (they commit with it), later appends are
    # left for the next run.
    unreadable = None
    if witnessed is None:
        try:
            witnessed = configured_witness()
        except WitnessError as exc:
            witnessed, unreadable = [], exc
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, audit_chain.GENESIS)
    checkpoints = [cp.as_dict() for cp in AuditCheckpoint.objects.order_by("number")]
    last_stored = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    # Events stored beyond the head (inserted at the end behind the application's back) are
    # checked too.
    events = _events_for_verify(max(head_seq, last_stored))
    if progress is not None:
        events = progress(events, max(head_seq, last_stored))
    report = audit_chain.verify(
        events,
        checkpoints,
        trusted_public_keys(),
        head=(head_seq, head_hash),
        witnessed=witnessed,
    )
    if unreadable is not None:
        # Fail closed: a witness that cannot be read cannot vouch for the checkpoints.
        report.add(Problem("witness_unreadable", f"the checkpoint witness: {unreadable}"))
    if max_unsigned_age is not None:
        _unsigned_age_check(report, max_unsigned_age)
    if record:
        audit_event_record(
            actor=actor,
            event_type=AuditEvent.Type.AUDIT_VERIFIED,
            outcome=AuditEvent.Outcome.SUCCESS if report.ok else AuditEvent.Outcome.FAILURE,
            details=report.as_dict(),
        )
    return report


def _unsigned_age_check(report: Report, allowed: timedelta) -> None:
    oldest = (
        AuditEvent.objects.filter(seq__gt=report.last_signed_seq)
        .order_by("seq")
        .values_list("seq", "created_at")
        .first()
    )
    if oldest is not None and oldest[1] < timezone.now() - allowed:
        seq, created_at = oldest
        report.add(
            Problem(
                "unsigned_too_long",
                f"event #{seq} ({audit_time(created_at)}) is not covered by a signed checkpoint "
                f"after more than {int(allowed.total_seconds())} s: checkpoints have stopped, or "
                "the newest were deleted",
                seq=seq,
            )
        )


def audit_verification_last() -> AuditEvent | None:
    return AuditEvent.objects.filter(event_type=AuditEvent.Type.AUDIT_VERIFIED).last()


def _segments(selected: list[int], signed: list[int]) -> list[list[int]]:
    """The runs of events between signed checkpoints that hold the selected events: each run
    starts after one checkpoint (or at the beginning) and ends at the next, so an offline
    verifier can recompute it from one signed hash to the next."""
    runs: list[list[int]] = []
    for seq in selected:
        at = bisect_left(signed, seq)
        start = (signed[at - 1] if at > 0 else 0) + 1
        end = signed[at]
        if runs and start <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    return runs


def audit_export(
    *,
    actor: AbstractBaseUser | None,
    events: Any,
    description: dict[str, Any],
    output: IO[bytes],
) -> dict[str, Any]:
    """Write a bundle an offline verifier can check (``compliance/audit_chain.py``): the
    selected events with the chain runs that connect them to signed checkpoints, every
    checkpoint and the trusted public keys. ``events`` is a queryset of the selection."""
    audit_checkpoint_create()  # sign everything selected so far
    checkpoints = [cp.as_dict() for cp in AuditCheckpoint.objects.order_by("number")]
    signed = [cp["seq"] for cp in checkpoints]
    last_signed = signed[-1] if signed else 0
    selected = sorted(events.filter(seq__lte=last_signed).values_list("seq", flat=True))
    runs = _segments(selected, signed)
    keys = trusted_public_keys()
    manifest = {
        "format": audit_chain.EXPORT_FORMAT,
        "exported_at": audit_time(timezone.now()),
        "exported_by": actor.get_username() if actor is not None else "system",
        "filter": description,
        "selected": selected,
        "runs": runs,
        "key_ids": sorted(keys),
        "verify_with": "python audit_chain.py <this file>",
    }
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.json", json.dumps(manifest, indent=2))
        bundle.writestr("checkpoints.jsonl", "".join(canonical(cp) + "\n" for cp in checkpoints))
        bundle.writestr("public_keys.pem", audit_chain.public_keys_pem(keys.values()))
        with bundle.open("events.jsonl", "w") as handle:
            writer = io.TextIOWrapper(handle, encoding="utf-8")
            for start, end in runs:
                for event in _events_for_verify(end, start=start):
                    del event["columns"]
                    writer.write(canonical(event) + "\n")
            writer.flush()
            writer.detach()
        source = audit_chain.__file__
        with open(source, "rb") as handle:
            bundle.writestr("audit_chain.py", handle.read())
    audit_event_record(
        actor=actor,
        event_type=AuditEvent.Type.AUDIT_EXPORTED,
        outcome=AuditEvent.Outcome.SUCCESS,
        details={
            "filter": description,
            "selected": len(selected),
            "runs": runs,
            "checkpoint": checkpoints[-1]["number"] if checkpoints else None,
        },
    )
    return manifest
