"""The request lifecycle: submitting an inquiry and running it through the compliance pipeline."""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from assistant.backends import BackendError, backend_for
from assistant.celery import TransientError
from assistant.models import Inquiry
from assistant.prompting import build_messages, resolve_citations
from assistant.roles import grants_domain
from compliance import pii
from compliance.crypto import DecryptionError, decrypt_text, encrypt_text
from compliance.jurisdictions import is_known
from compliance.models import AuditEvent
from compliance.services import audit_event_record
from domains.models import Domain
from domains.selectors import domain_get, passages_retrieve

logger = logging.getLogger(__name__)

Reason = Inquiry.FailureReason


class QueueUnavailable(Exception):
    """The inquiry was stored but could not be queued; it has been marked failed."""

    def __init__(self, inquiry: Inquiry) -> None:
        super().__init__("the work queue could not be reached")
        self.inquiry = inquiry


def safe_traceback(exc: BaseException) -> str:
    """Where an exception came from, without its message (which may quote content)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames[-6:])
    )
    return f"{type(exc).__name__} at {where}"


@sensitive_variables("question")
def inquiry_submit(
    *, user: AbstractBaseUser, domain: str, jurisdiction: str, question: str
) -> Inquiry:
    """Validate, store the question encrypted, record the audit event and queue the work.

    Raises ``ValidationError`` naming the field for an unknown domain or jurisdiction,
    ``PermissionDenied`` (audited) when the user's role does not grant the domain, and
    ``QueueUnavailable`` when the queue cannot be reached.
    """
    domain_row = domain_get(slug=domain)
    if domain_row is None:
        raise ValidationError({"domain": [f"Unknown domain {domain!r}."]}, code="unknown_domain")
    if not is_known(jurisdiction):
        raise ValidationError(
            {"jurisdiction": [f"Unknown jurisdiction {jurisdiction!r}."]},
            code="unknown_jurisdiction",
        )
    if jurisdiction not in domain_row.jurisdictions:
        raise ValidationError(
            {
                "jurisdiction": [
                    f"Domain {domain!r} does not serve jurisdiction {jurisdiction!r} "
                    f"(it serves {', '.join(domain_row.jurisdictions)})."
                ]
            },
            code="jurisdiction_not_served",
        )
    if not grants_domain(user, domain_row):
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.ACCESS_DENIED,
            outcome=AuditEvent.Outcome.DENIED,
            domain=domain_row.slug,
            jurisdiction=jurisdiction,
            details={"action": "inquiry.submit", "reason": "role_not_granted_domain"},
        )
        raise PermissionDenied(
            f"Your role does not grant access to the {domain_row.slug!r} domain."
        )

    with transaction.atomic():
        inquiry = Inquiry.objects.create(
            user=user,
            domain=domain_row,
            jurisdiction=jurisdiction,
            question_ciphertext=encrypt_text(question),
        )
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.INQUIRY_RECEIVED,
            outcome=AuditEvent.Outcome.SUCCESS,
            inquiry_id=inquiry.id,
            domain=domain_row.slug,
            jurisdiction=jurisdiction,
            details={"question_chars": len(question)},
        )
    # After the commit: a worker must never receive an id it cannot read yet. Outside an outer
    # transaction this runs at once, so a broker outage is reported to this caller.
    transaction.on_commit(lambda: _publish(inquiry.id))
    inquiry.refresh_from_db(fields=["status", "failure_reason"])
    if inquiry.failure_reason == Reason.QUEUE_UNAVAILABLE:
        raise QueueUnavailable(inquiry)
    return inquiry


def _publish(inquiry_id: uuid.UUID) -> None:
    try:
        _enqueue(inquiry_id)
    except Exception as exc:
        logger.error("queueing inquiry %s failed: %s", inquiry_id, safe_traceback(exc))
        inquiry_fail(
            inquiry_id=inquiry_id, attempt=None, reason=Reason.QUEUE_UNAVAILABLE, step="queue"
        )


def _enqueue(inquiry_id: uuid.UUID, *, countdown: float | None = None) -> None:
    from assistant.tasks import inquiry_run as inquiry_run_task

    inquiry_run_task.apply_async(args=[str(inquiry_id)], countdown=countdown)


def _audit(
    inquiry: Inquiry, event_type: AuditEvent.Type, outcome: AuditEvent.Outcome, **details: Any
) -> None:
    audit_event_record(
        actor=None,
        event_type=event_type,
        outcome=outcome,
        inquiry_id=inquiry.id,
        domain=inquiry.domain.slug,
        jurisdiction=inquiry.jurisdiction,
        details=details,
    )


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
        attempts=F("attempts") + 1,
        lease_expires_at=_lease_until(),
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
        _enqueue(inquiry_id, countdown=(lease - now).total_seconds() + 1)
    elif unfinished["attempts"] >= settings.INQUIRY_MAX_ATTEMPTS:
        inquiry_fail(
            inquiry_id=inquiry_id, attempt=None, reason=Reason.ATTEMPTS_EXHAUSTED, step="claim"
        )
    return None


def _lease_until() -> Any:
    return timezone.now() + timedelta(seconds=settings.INQUIRY_LEASE_SECONDS)


def _save_step(inquiry: Inquiry, **fields: Any) -> bool:
    """Write step results only while this worker still holds the claim (same attempt).
    Each step also renews the lease, so only a worker that stopped making progress loses it."""
    fields.setdefault("lease_expires_at", _lease_until())
    updated = Inquiry.objects.filter(
        pk=inquiry.pk, status=Inquiry.Status.RUNNING, attempts=inquiry.attempts
    ).update(**fields)
    for name, value in fields.items():
        setattr(inquiry, name, value)
    return bool(updated)


class ClaimLost(Exception):
    """Another worker took over this inquiry (our lease expired); stop without writing."""


def _step(
    inquiry: Inquiry, event_type: AuditEvent.Type, details: dict[str, Any], **fields: Any
) -> None:
    with transaction.atomic():
        if not _save_step(inquiry, **fields):
            raise ClaimLost
        _audit(inquiry, event_type, AuditEvent.Outcome.SUCCESS, **details)


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
        inquiry.save(
            update_fields=[
                "status",
                "failure_reason",
                "failure_detail",
                "finished_at",
                "lease_expires_at",
            ]
        )
        _audit(
            inquiry,
            AuditEvent.Type.INQUIRY_FAILED,
            AuditEvent.Outcome.FAILURE,
            reason=str(reason),
            step=step,
            attempts=inquiry.attempts,
        )
    return True


def _release_for_retry(inquiry: Inquiry, *, step: str, detail: str) -> None:
    with transaction.atomic():
        if _save_step(inquiry, status=Inquiry.Status.QUEUED, lease_expires_at=None):
            _audit(
                inquiry,
                AuditEvent.Type.INQUIRY_RETRY,
                AuditEvent.Outcome.FAILURE,
                step=step,
                attempts=inquiry.attempts,
                detail=detail,
            )


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


@sensitive_variables("question", "screening", "generation", "screened_answer", "vault")
def inquiry_run(*, inquiry_id: uuid.UUID) -> None:
    """Run one inquiry through the pipeline: screen input, retrieve, generate, screen output.

    Idempotent: a second call for the same inquiry (a redelivered task) does nothing once the
    first has claimed it. Every step commits its result with its audit event; no transaction
    stays open while a model runs. Any failure ends the inquiry in ``failed`` with a reason;
    transient model failures are retried a bounded number of times.
    """
    inquiry = inquiry_claim(inquiry_id=inquiry_id)
    if inquiry is None:
        return
    step = "screen_input"
    timings: dict[str, int] = {
        "queued_ms": round((inquiry.started_at - inquiry.created_at).total_seconds() * 1000)
    }
    try:
        # 1. Screen input. Nothing below sees the question as asked.
        try:
            question = decrypt_text(inquiry.question_ciphertext)
        except DecryptionError:
            inquiry_fail(
                inquiry_id=inquiry.id,
                attempt=inquiry.attempts,
                reason=Reason.CONTENT_UNREADABLE,
                step=step,
            )
            return
        started = time.perf_counter()
        try:
            vault = pii.PseudonymVault()
            screening = pii.screen_input(question, vault)
        except pii.PiiDetectionError as exc:
            inquiry_fail(
                inquiry_id=inquiry.id,
                attempt=inquiry.attempts,
                reason=Reason.PII_DETECTION_FAILED,
                step=step,
                detail=str(exc),
            )
            return
        timings["screen_input_ms"] = _ms(started)
        _step(
            inquiry,
            AuditEvent.Type.INQUIRY_SCREENED,
            {
                "entities": screening.counts,
                "entity_total": len(screening.entities),
                "ms": timings["screen_input_ms"],
            },
            redacted_question_ciphertext=encrypt_text(screening.text),
            vault_ciphertext=encrypt_text(json.dumps(vault.to_json())),
            question_entities=screening.counts,
        )

        # 2. Retrieve passages for the redacted question.
        step = "retrieve"
        domain: Domain = inquiry.domain
        started = time.perf_counter()
        passages = passages_retrieve(
            domain=domain, jurisdiction=inquiry.jurisdiction, query=screening.text
        )
        timings["retrieve_ms"] = _ms(started)
        _step(
            inquiry,
            AuditEvent.Type.INQUIRY_RETRIEVED,
            {
                "passage_ids": [p.source_id for p in passages],
                "scores": [p.score for p in passages],
                "index_revision": domain.index_revision,
                "ms": timings["retrieve_ms"],
            },
        )
        if not passages:
            _finish(
                inquiry,
                answer=(
                    "The available sources for this domain and jurisdiction do not cover this "
                    "question, so no answer was generated."
                ),
                citations=[],
                grounding=Inquiry.Grounding.NO_PASSAGES,
                answer_entities={},
                timings=timings,
            )
            return

        # 3. Generate from the redacted question and the passages.
        step = "generate"
        profile = domain.model_profile
        started = time.perf_counter()
        backend = backend_for(profile)
        messages, included = build_messages(
            system_prompt=domain.system_prompt,
            question=screening.text,
            passages=passages,
            count_tokens=backend.count_tokens,
            max_input_tokens=profile.get("max_input_tokens", 1536),
        )
        generation = backend.generate(messages, max_new_tokens=profile.get("max_new_tokens", 200))
        timings["generate_ms"] = _ms(started)
        _step(
            inquiry,
            AuditEvent.Type.INQUIRY_GENERATED,
            {
                "model_id": generation.model_id,
                "model_version": generation.model_version,
                "prompt_tokens": generation.prompt_tokens,
                "completion_tokens": generation.completion_tokens,
                "passages_in_prompt": len(included),
                "ms": timings["generate_ms"],
            },
            model_id=generation.model_id,
            model_version=generation.model_version,
        )

        # 4. Screen the output and check its citations before anything is stored.
        step = "screen_output"
        started = time.perf_counter()
        try:
            screened_answer = pii.screen_output(generation.text)
        except pii.PiiDetectionError as exc:
            inquiry_fail(
                inquiry_id=inquiry.id,
                attempt=inquiry.attempts,
                reason=Reason.OUTPUT_SCREENING_FAILED,
                step=step,
                detail=str(exc),
            )
            return
        cited = resolve_citations(screened_answer.text, included)
        timings["screen_output_ms"] = _ms(started)
        _finish(
            inquiry,
            answer=cited.text,
            citations=[c.as_json() for c in cited.citations],
            grounding=cited.grounding,
            answer_entities=screened_answer.counts,
            timings=timings,
            unverified_references=cited.unverified_references,
            screening_details={
                "entities": screened_answer.counts,
                "entity_total": len(screened_answer.entities),
                "citations": [c.passage.source_id for c in cited.citations],
                "invalid_citation_markers": cited.invalid_markers,
                "unverified_references": cited.unverified_references,
                "grounding": cited.grounding,
                "ms": timings["screen_output_ms"],
            },
        )
    except ClaimLost:
        logger.warning(
            "inquiry %s: claim lost at step %s; another worker continues", inquiry.id, step
        )
    except BackendError as exc:
        if exc.permanent or inquiry.attempts >= settings.INQUIRY_MAX_ATTEMPTS:
            inquiry_fail(
                inquiry_id=inquiry.id,
                attempt=inquiry.attempts,
                reason=Reason.MODEL_UNAVAILABLE,
                step=step,
                detail=str(exc),
            )
            return
        _release_for_retry(inquiry, step=step, detail=str(exc))
        raise TransientError(f"inquiry {inquiry.id}: {exc}") from None
    except Exception as exc:
        logger.error("inquiry %s failed at step %s: %s", inquiry.id, step, safe_traceback(exc))
        reason = Reason.RETRIEVAL_FAILED if step == "retrieve" else Reason.INTERNAL_ERROR
        inquiry_fail(inquiry_id=inquiry.id, attempt=inquiry.attempts, reason=reason, step=step)


def _finish(
    inquiry: Inquiry,
    *,
    answer: str,
    citations: list[dict[str, Any]],
    grounding: str,
    answer_entities: dict[str, int],
    timings: dict[str, int],
    unverified_references: list[str] | None = None,
    screening_details: dict[str, Any] | None = None,
) -> None:
    finished = timezone.now()
    timings["total_ms"] = round((finished - inquiry.created_at).total_seconds() * 1000)
    with transaction.atomic():
        if not _save_step(
            inquiry,
            answer_ciphertext=encrypt_text(answer),
            citations=citations,
            grounding=grounding,
            answer_entities=answer_entities,
            unverified_references=unverified_references or [],
            timings=timings,
            status=Inquiry.Status.ANSWERED,
            finished_at=finished,
            lease_expires_at=None,
        ):
            raise ClaimLost
        if screening_details is not None:
            _audit(
                inquiry,
                AuditEvent.Type.INQUIRY_OUTPUT_SCREENED,
                AuditEvent.Outcome.SUCCESS,
                **screening_details,
            )
        _audit(
            inquiry,
            AuditEvent.Type.INQUIRY_ANSWERED,
            AuditEvent.Outcome.SUCCESS,
            grounding=grounding,
            citations=[c["passage_id"] for c in citations],
            timings=timings,
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
        _enqueue(inquiry_id)
        count += 1
    return count


def models_warm() -> None:
    """Load the PII analyzer, the embedding models and the generative models of all active
    domains, so the first inquiry in a fresh worker process does not pay for it."""
    from domains.embeddings import embedder

    started = time.perf_counter()
    pii.analyzer()
    try:
        domains = list(Domain.objects.filter(is_active=True))
    except Exception as exc:  # an unmigrated database: the worker still starts
        logger.warning("model warm-up skipped: %s", safe_traceback(exc))
        return
    for domain in domains:
        embedder(domain.embedding_model)
        try:
            backend_for(domain.model_profile)
        except BackendError as exc:
            logger.warning("domain %s: model not loaded: %s", domain.slug, exc)
    logger.info("models warm in %.1f s", time.perf_counter() - started)
