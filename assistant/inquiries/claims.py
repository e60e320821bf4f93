"""The worker's protocol for an inquiry: claim it with a conditional UPDATE and a lease, commit
each step's result with its audit event while the claim holds, then finish, fail or release it
for a retry. A redelivered task, a second worker or a worker that died mid-task is handled here
and nowhere else."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from assistant.inquiries import queue
from assistant.inquiries.events import inquiry_event_record
from assistant.models import Inquiry
from compliance.crypto import ContentKey
from compliance.models import AuditEvent

Reason = Inquiry.FailureReason


class Progress:
    """What a running inquiry is doing, for the person waiting for it."""

    SCREENING = "screening"
    CHECKING_POLICY = "checking_policy"
    RETRIEVING = "retrieving"
    GENERATING = "generating"
    SCREENING_ANSWER = "screening_answer"


class ClaimLost(Exception):
    """Another worker took over this inquiry (our lease expired); stop without writing."""


def lease_until() -> datetime:
    return timezone.now() + timedelta(seconds=settings.INQUIRY_LEASE_SECONDS)


def _claimable() -> Q:
    return Q(status=Inquiry.Status.QUEUED) | Q(
        status=Inquiry.Status.RUNNING, lease_expires_at__lt=timezone.now()
    )


def inquiry_claim(*, inquiry_id: uuid.UUID) -> Inquiry | None:
    """Take the inquiry for this worker, or return None when another worker holds it or it is
    finished. A conditional UPDATE makes this safe against redelivered and duplicate tasks."""
    now = timezone.now()
    claimed = Inquiry.objects.filter(
        _claimable(), pk=inquiry_id, attempts__lt=settings.INQUIRY_MAX_ATTEMPTS
    ).update(
        status=Inquiry.Status.RUNNING,
        progress=Progress.SCREENING,
        attempts=F("attempts") + 1,
        lease_expires_at=lease_until(),
        started_at=Coalesce(F("started_at"), now),
    )
    if claimed:
        return Inquiry.objects.select_related("domain", "user").get(pk=inquiry_id)
    unfinished = (
        Inquiry.objects.filter(
            pk=inquiry_id, status__in=[Inquiry.Status.QUEUED, Inquiry.Status.RUNNING]
        )
        .values("status", "attempts", "lease_expires_at")
        .first()
    )
    if unfinished is None:
        return None
    lease = unfinished["lease_expires_at"]
    if unfinished["status"] == Inquiry.Status.RUNNING and lease and lease >= now:
        # Held by another worker, or by one that died: a worker killed mid-task makes its
        # message come back at once, while its lease still runs. Look again when the lease
        # ends; by then a live holder has finished or renewed it.
        queue.enqueue(inquiry_id, countdown=(lease - now).total_seconds() + 1)
    elif unfinished["attempts"] >= settings.INQUIRY_MAX_ATTEMPTS:
        inquiry_fail(
            inquiry_id=inquiry_id, attempt=None, reason=Reason.ATTEMPTS_EXHAUSTED, step="claim"
        )
    return None


def save_step(inquiry: Inquiry, **fields: Any) -> bool:
    """Write step results only while this worker still holds the claim (same attempt).
    Each step also renews the lease, so only a worker that stopped making progress loses it."""
    fields.setdefault("lease_expires_at", lease_until())
    updated = Inquiry.objects.filter(
        pk=inquiry.pk, status=Inquiry.Status.RUNNING, attempts=inquiry.attempts
    ).update(**fields)
    for name, value in fields.items():
        setattr(inquiry, name, value)
    return bool(updated)


def step_commit(
    inquiry: Inquiry, event_type: AuditEvent.Type, details: dict[str, Any], **fields: Any
) -> None:
    """A step's result and its audit event, in one transaction; ``ClaimLost`` if another
    worker holds the inquiry now."""
    with transaction.atomic():
        if not save_step(inquiry, **fields):
            raise ClaimLost
        inquiry_event_record(inquiry, event_type, AuditEvent.Outcome.SUCCESS, **details)


def inquiry_finish(
    inquiry: Inquiry,
    key: ContentKey,
    *,
    answer: str,
    timings: dict[str, int],
    status: Inquiry.Status = Inquiry.Status.ANSWERED,
    citations: list[dict[str, Any]] | None = None,
    grounding: str = "",
    answer_entities: dict[str, int] | None = None,
    unverified_references: list[str] | None = None,
    screening_details: dict[str, Any] | None = None,
) -> None:
    """Store the delivered answer (or refusal) encrypted and end the inquiry, with the output
    screening event (if the answer was screened) and the answered or refused event."""
    finished = timezone.now()
    timings["total_ms"] = round((finished - inquiry.created_at).total_seconds() * 1000)
    citations = citations or []
    with transaction.atomic():
        if not save_step(
            inquiry,
            answer_ciphertext=key.encrypt(answer),
            citations=citations,
            grounding=grounding,
            answer_entities=answer_entities or {},
            unverified_references=unverified_references or [],
            timings=timings,
            status=status,
            finished_at=finished,
            lease_expires_at=None,
            progress="",
            draft_ciphertext="",
        ):
            raise ClaimLost
        if screening_details is not None:
            inquiry_event_record(
                inquiry,
                AuditEvent.Type.INQUIRY_OUTPUT_SCREENED,
                AuditEvent.Outcome.SUCCESS,
                **screening_details,
            )
        if status == Inquiry.Status.REFUSED:
            inquiry_event_record(
                inquiry,
                AuditEvent.Type.INQUIRY_REFUSED,
                AuditEvent.Outcome.DENIED,
                category=inquiry.refusal_category,
                policy_id=inquiry.policy_id,
                policy_version=inquiry.policy_version,
                timings=timings,
            )
        else:
            inquiry_event_record(
                inquiry,
                AuditEvent.Type.INQUIRY_ANSWERED,
                AuditEvent.Outcome.SUCCESS,
                grounding=grounding,
                citations=[c["passage_id"] for c in citations],
                timings=timings,
            )


def inquiry_fail(
    *,
    inquiry_id: uuid.UUID,
    attempt: int | None,
    reason: Inquiry.FailureReason,
    step: str,
    detail: str = "",
) -> bool:
    """End an unfinished inquiry in ``failed`` with its reason, and audit it."""
    with transaction.atomic():
        unfinished = Inquiry.objects.select_for_update().filter(
            pk=inquiry_id, status__in=[Inquiry.Status.QUEUED, Inquiry.Status.RUNNING]
        )
        if attempt is not None:
            unfinished = unfinished.filter(attempts=attempt)
        inquiry = unfinished.select_related("domain").first()
        if inquiry is None:
            return False
        inquiry.status = Inquiry.Status.FAILED
        inquiry.failure_reason = reason
        inquiry.failure_detail = detail[:300]
        inquiry.finished_at = timezone.now()
        inquiry.lease_expires_at = None
        # A partial answer is not left behind: the draft goes with the failure.
        inquiry.draft_ciphertext = ""
        inquiry.progress = ""
        inquiry.save(
            update_fields=[
                "status",
                "failure_reason",
                "failure_detail",
                "finished_at",
                "lease_expires_at",
                "draft_ciphertext",
                "progress",
            ]
        )
        inquiry_event_record(
            inquiry,
            AuditEvent.Type.INQUIRY_FAILED,
            AuditEvent.Outcome.FAILURE,
            reason=str(reason),
            step=step,
            attempts=inquiry.attempts,
        )
    return True


def inquiry_release(inquiry: Inquiry, *, step: str, detail: str) -> None:
    """Give the inquiry back to the queue for another attempt after a transient failure."""
    with transaction.atomic():
        if save_step(inquiry, status=Inquiry.Status.QUEUED, lease_expires_at=None):
            inquiry_event_record(
                inquiry,
                AuditEvent.Type.INQUIRY_RETRY,
                AuditEvent.Outcome.FAILURE,
                step=step,
                attempts=inquiry.attempts,
                detail=detail,
            )


def inquiries_requeue_stale(*, queued_for_seconds: int = 300) -> int:
    """Re-send inquiries whose message was lost: queued too long, or running with an expired
    claim (the worker died). Duplicates are harmless because running claims the inquiry."""
    now = timezone.now()
    stale = Inquiry.objects.filter(
        Q(status=Inquiry.Status.QUEUED, created_at__lt=now - timedelta(seconds=queued_for_seconds))
        | Q(status=Inquiry.Status.RUNNING, lease_expires_at__lt=now)
    ).values_list("id", flat=True)
    count = 0
    for inquiry_id in stale:
        queue.enqueue(inquiry_id)
        count += 1
    return count
