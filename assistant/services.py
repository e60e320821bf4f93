"""The request lifecycle: submitting an inquiry and running it through the compliance pipeline."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from assistant.authorization import Action, NotVisible, authorize_domain, authorize_owner
from assistant.backends import BackendError, backend_for
from assistant.celery import TransientError
from assistant.models import ApiToken, Conversation, IdempotencyKey, Inquiry
from assistant.prompting import build_messages, resolve_citations
from assistant.selectors import conversation_get
from compliance import pii
from compliance.crypto import ContentKey, DecryptionError
from compliance.decisions import RouteDecision, decide_content, decide_route, policy_summary
from compliance.models import AuditEvent
from compliance.policy import Policy, policies
from compliance.refusals import RefusalClassifier
from compliance.services import audit_event_record, organization_of
from domains.embeddings import DEFAULT_EMBEDDING_MODEL, embed
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


class PolicyRefused(Exception):
    """The jurisdiction's policy does not allow this request; nothing was stored."""

    def __init__(self, *, policy: Policy, reason: str, message: str) -> None:
        super().__init__(message)
        self.policy = policy
        self.reason = reason
        self.message = message


def _route(policy: Policy, domain: Domain) -> RouteDecision:
    return decide_route(
        policy,
        domain=domain.slug,
        backends=domain.model_backends,
        local_region=settings.LOCAL_MODEL_REGION,
    )


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used for a different request."""


def idempotency_hash(payload: dict[str, Any]) -> str:
    """An HMAC of the request, so a retry can be recognised without storing its content."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(settings.SECRET_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def idempotent_inquiry(*, user: AbstractBaseUser, key: str, request_hash: str) -> Inquiry | None:
    """The inquiry an earlier request with this key created, if the key is still remembered.
    Raises ``IdempotencyConflict`` when the key was used for a different request."""
    horizon = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=horizon).delete()
    row = IdempotencyKey.objects.select_related("inquiry").filter(user=user, key=key).first()
    if row is None:
        return None
    if not hmac.compare_digest(row.request_hash, request_hash):
        raise IdempotencyConflict(key)
    return row.inquiry


def inquiry_submit_once(*, user: AbstractBaseUser, key: str, **fields: Any) -> tuple[Inquiry, bool]:
    """``inquiry_submit`` once per Idempotency-Key: a retry of the same request with the same
    key returns the first inquiry and True. The same key with a different request raises
    ``IdempotencyConflict``."""
    request_hash = idempotency_hash(fields)
    earlier = idempotent_inquiry(user=user, key=key, request_hash=request_hash)
    if earlier is not None:
        return earlier, True
    try:
        return inquiry_submit(user=user, idempotency=(key, request_hash), **fields), False
    except IdempotencyConflict:
        # A concurrent request with this key committed first; it may be this very request.
        earlier = idempotent_inquiry(user=user, key=key, request_hash=request_hash)
        if earlier is None:
            raise
        return earlier, True


def _conversation_for(
    user: AbstractBaseUser, conversation_id: uuid.UUID, domain: str | None, jurisdiction: str | None
) -> Conversation:
    try:
        conversation = conversation_get(user=user, conversation_id=conversation_id)
    except NotVisible as exc:
        raise ValidationError({"conversation": [str(exc)]}, code="unknown_conversation") from None
    for name, given, fixed in (
        ("domain", domain, conversation.domain.slug),
        ("jurisdiction", jurisdiction, conversation.jurisdiction),
    ):
        if given and given != fixed:
            raise ValidationError(
                {name: [f"The conversation is in {name} {fixed!r}; a follow-up stays in it."]},
                code="conversation_mismatch",
            )
    return conversation


@sensitive_variables("question")
def inquiry_submit(
    *,
    user: AbstractBaseUser,
    question: str,
    domain: str | None = None,
    jurisdiction: str | None = None,
    conversation: uuid.UUID | None = None,
    idempotency: tuple[str, str] | None = None,
) -> Inquiry:
    """Validate, store the question encrypted, record the audit event and queue the work.

    A question starts a new conversation unless ``conversation`` names one of the user's own,
    whose domain and jurisdiction it then inherits. ``idempotency`` is an Idempotency-Key and
    the request's hash: the key is stored with the inquiry, so a retry finds it.

    Raises ``ValidationError`` naming the field for an unknown domain, jurisdiction or
    conversation, ``PermissionDenied`` (audited) when the user's role does not grant the domain,
    ``PolicyRefused`` (audited) when the jurisdiction's policy does not offer the domain or no
    model backend runs in an allowed region, ``IdempotencyConflict`` when a concurrent request
    took the key first, and ``QueueUnavailable`` when the queue cannot be reached.
    """
    thread = None
    if conversation is not None:
        thread = _conversation_for(user, conversation, domain, jurisdiction)
        domain, jurisdiction = thread.domain.slug, thread.jurisdiction
    absent = [
        name for name, value in (("domain", domain), ("jurisdiction", jurisdiction)) if not value
    ]
    if absent:
        raise ValidationError(
            {name: ["This field is required unless a conversation is given."] for name in absent},
            code="required",
        )
    domain_row = domain_get(slug=domain)
    if domain_row is None:
        raise ValidationError({"domain": [f"Unknown domain {domain!r}."]}, code="unknown_domain")
    policy = policies().get(jurisdiction)
    if policy is None:
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
    authorize_domain(user, domain_row, jurisdiction=jurisdiction)
    route = _route(policy, domain_row)
    if not route.allowed:
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.POLICY_REFUSED,
            outcome=AuditEvent.Outcome.DENIED,
            domain=domain_row.slug,
            jurisdiction=jurisdiction,
            details={
                "policy_id": policy.jurisdiction,
                "policy_version": policy.version,
                "reason": route.reason,
                "rules": route.rules,
            },
        )
        raise PolicyRefused(policy=policy, reason=route.reason, message=route.message)

    key = ContentKey.generate()
    try:
        with transaction.atomic():
            inquiry = _store(user, domain_row, jurisdiction, thread, key, question, policy)
            if idempotency is not None:
                IdempotencyKey.objects.create(
                    user=user, key=idempotency[0], request_hash=idempotency[1], inquiry=inquiry
                )
    except IntegrityError:
        if idempotency is None:
            raise
        # A concurrent request with the same key committed first; this one stored nothing.
        raise IdempotencyConflict(idempotency[0]) from None
    # After the commit: a worker must never receive an id it cannot read yet. Outside an outer
    # transaction this runs at once, so a broker outage is reported to this caller.
    transaction.on_commit(lambda: _publish(inquiry.id))
    inquiry.refresh_from_db(fields=["status", "failure_reason"])
    if inquiry.failure_reason == Reason.QUEUE_UNAVAILABLE:
        raise QueueUnavailable(inquiry)
    return inquiry


@sensitive_variables("question")
def _store(
    user: AbstractBaseUser,
    domain_row: Domain,
    jurisdiction: str,
    thread: Conversation | None,
    key: ContentKey,
    question: str,
    policy: Policy,
) -> Inquiry:
    now = timezone.now()
    if thread is None:
        thread = Conversation.objects.create(
            user=user, domain=domain_row, jurisdiction=jurisdiction
        )
    else:
        Conversation.objects.filter(pk=thread.pk).update(updated_at=now)
    inquiry = Inquiry.objects.create(
        user=user,
        domain=domain_row,
        jurisdiction=jurisdiction,
        conversation=thread,
        content_key_wrapped=key.wrapped,
        question_ciphertext=key.encrypt(question),
        policy_id=policy.jurisdiction,
        policy_version=policy.version,
    )
    # Set now, so even a question that never gets processed is removed on time.
    inquiry.retain_until = inquiry.created_at + timedelta(days=policy.retention_days)
    inquiry.save(update_fields=["retain_until"])
    audit_event_record(
        actor=user,
        event_type=AuditEvent.Type.INQUIRY_RECEIVED,
        outcome=AuditEvent.Outcome.SUCCESS,
        inquiry_id=inquiry.id,
        domain=domain_row.slug,
        jurisdiction=jurisdiction,
        details={
            "question_chars": len(question),
            "policy_id": policy.jurisdiction,
            "policy_version": policy.version,
            "conversation": str(thread.pk),
        },
    )
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
        organization=organization_of(inquiry.user),
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
        progress=Progress.SCREENING,
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


class Progress:
    """What a running inquiry is doing, for the person waiting for it."""

    SCREENING = "screening"
    CHECKING_POLICY = "checking_policy"
    RETRIEVING = "retrieving"
    GENERATING = "generating"
    SCREENING_ANSWER = "screening_answer"


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


_classifier_lock = threading.Lock()
_classifiers: dict[int, RefusalClassifier] = {}


def refusal_classifier() -> RefusalClassifier:
    """One classifier per process and policy set; it trains on first use (under a second)."""
    categories = policies().categories
    with _classifier_lock:
        if id(categories) not in _classifiers:
            _classifiers[id(categories)] = RefusalClassifier(
                categories, lambda texts: embed(texts, model=DEFAULT_EMBEDDING_MODEL)
            )
        return _classifiers[id(categories)]


class _Fail(Exception):
    """Ends the inquiry in ``failed`` with a reason (raised inside ``inquiry_run``)."""

    def __init__(self, reason: Inquiry.FailureReason, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


# How much of a conversation a follow-up sees: the last turns, each answer cut to a length.
HISTORY_TURNS = 2
HISTORY_ANSWER_CHARS = 800


@dataclass
class History:
    """Earlier turns of an inquiry's conversation, redacted, oldest first."""

    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    vault: pii.PseudonymVault | None = None


def _conversation_history(inquiry: Inquiry) -> History:
    history = History()
    if inquiry.conversation_id is None:
        return history
    earlier = (
        Inquiry.objects.filter(
            conversation_id=inquiry.conversation_id, created_at__lt=inquiry.created_at
        )
        .exclude(content_key_wrapped="")
        .order_by("-created_at")[:10]
    )
    for turn in earlier:
        try:
            key = ContentKey.unwrap(turn.content_key_wrapped)
            if history.vault is None and turn.vault_ciphertext:
                history.vault = pii.PseudonymVault.from_json(
                    json.loads(key.decrypt(turn.vault_ciphertext))
                )
            if turn.status == Inquiry.Status.ANSWERED and len(history.questions) < HISTORY_TURNS:
                answer = "\n\n".join(
                    part
                    for part in key.decrypt(turn.answer_ciphertext).split("\n\n")
                    if not part.startswith("Disclaimer (")
                )
                history.questions.insert(0, key.decrypt(turn.redacted_question_ciphertext))
                history.answers.insert(0, answer[:HISTORY_ANSWER_CHARS])
        except DecryptionError:
            # An unreadable earlier turn only costs the follow-up its context.
            logger.warning("inquiry %s: earlier turn %s is unreadable", inquiry.id, turn.id)
    return history


# While an answer is generated, the screened draft is refreshed at most this often, and each
# word is published only once this many words follow it, so detection sees it in context.
DRAFT_INTERVAL_SECONDS = 0.3
DRAFT_HOLDBACK_WORDS = 3


class DraftPublisher:
    """Receives the answer while it is generated. Every ``DRAFT_INTERVAL_SECONDS`` it screens
    the text so far for personal data and stores the screened part before the last
    ``DRAFT_HOLDBACK_WORDS`` words, encrypted, as the inquiry's draft, which the stream sends to
    the requester. Unscreened text is never stored or sent. A screening failure is kept, and
    fails the inquiry once generation ends (fail closed)."""

    def __init__(self, inquiry: Inquiry, key: ContentKey, *, entities: list[str]) -> None:
        self.inquiry = inquiry
        self.key = key
        self.entities = entities
        self.published = 0
        self.last = time.monotonic()
        self.screening_error: Exception | None = None

    @sensitive_variables("text", "screened")
    def __call__(self, text: str) -> None:
        if self.screening_error is not None:
            return
        if time.monotonic() - self.last < DRAFT_INTERVAL_SECONDS:
            return
        self.last = time.monotonic()
        try:
            screened, covered = pii.screen_output_prefix(
                text, holdback_words=DRAFT_HOLDBACK_WORDS, entities=self.entities
            )
        except pii.PiiDetectionError as exc:
            self.screening_error = exc
            return
        if covered <= self.published:
            return
        self.published = covered
        try:
            Inquiry.objects.filter(
                pk=self.inquiry.pk, status=Inquiry.Status.RUNNING, attempts=self.inquiry.attempts
            ).update(
                draft_ciphertext=self.key.encrypt(screened.text), lease_expires_at=_lease_until()
            )
        except DatabaseError as exc:
            # The draft is a preview; the answer is stored by the pipeline's own steps.
            logger.warning("inquiry %s: draft not stored: %s", self.inquiry.id, safe_traceback(exc))


@sensitive_variables("question", "screening", "generation", "screened_answer", "vault")
def inquiry_run(*, inquiry_id: uuid.UUID) -> None:
    """Run one inquiry through the pipeline, driven by its jurisdiction's policy:
    route (domain offered, model backend in an allowed region), screen input (the policy's
    entity set), classify (the policy's refusal rules), retrieve, generate, screen output.

    Idempotent: a second call for the same inquiry (a redelivered task) does nothing once the
    first has claimed it. Every step commits its result with its audit event; no transaction
    stays open while a model runs. Any failure ends the inquiry in ``failed`` with a reason;
    transient model failures are retried a bounded number of times.
    """
    inquiry = inquiry_claim(inquiry_id=inquiry_id)
    if inquiry is None:
        return
    step = "policy"
    timings: dict[str, int] = {
        "queued_ms": round((inquiry.started_at - inquiry.created_at).total_seconds() * 1000)
    }
    domain: Domain = inquiry.domain
    try:
        try:
            key = ContentKey.unwrap(inquiry.content_key_wrapped)
        except DecryptionError as exc:
            raise _Fail(Reason.CONTENT_UNREADABLE) from exc

        # 1. The policy: evaluated again here, so a policy changed since submission applies.
        try:
            policy = policies().get(inquiry.jurisdiction)
            route = _route(policy, domain) if policy else None
        except Exception as exc:
            raise _Fail(Reason.POLICY_UNAVAILABLE, type(exc).__name__) from exc
        if policy is None:
            raise _Fail(Reason.POLICY_UNAVAILABLE, f"no policy for {inquiry.jurisdiction}")
        summary = policy_summary(policy, domain.slug)
        if not route.allowed:
            _refuse(
                inquiry,
                key,
                policy,
                summary,
                route.rules,
                reason=route.reason,
                text=route.message,
                timings=timings,
            )
            return

        # 2. Screen input with the policy's entity set. Nothing below sees the question as asked.
        step = "screen_input"
        try:
            question = key.decrypt(inquiry.question_ciphertext)
        except DecryptionError as exc:
            raise _Fail(Reason.CONTENT_UNREADABLE) from exc
        started = time.perf_counter()
        history = _conversation_history(inquiry)
        # A follow-up keeps the placeholders of earlier turns: the same value gets the same one.
        vault = history.vault or pii.PseudonymVault()
        try:
            screening = pii.screen_input(question, vault, entities=summary["entities"])
        except pii.PiiDetectionError as exc:
            raise _Fail(Reason.PII_DETECTION_FAILED, str(exc)) from exc
        timings["screen_input_ms"] = _ms(started)
        _step(
            inquiry,
            AuditEvent.Type.INQUIRY_SCREENED,
            {
                "entities": screening.counts,
                "entity_total": len(screening.entities),
                "entity_set": summary["entities"],
                "policy_version": policy.version,
                "ms": timings["screen_input_ms"],
            },
            redacted_question_ciphertext=key.encrypt(screening.text),
            vault_ciphertext=key.encrypt(json.dumps(vault.to_json())),
            question_entities=screening.counts,
            progress=Progress.CHECKING_POLICY,
        )

        # 3. Classify the redacted question against the policy's refusal rules.
        step = "policy"
        started = time.perf_counter()
        try:
            categories = [rule.category for rule in policy.refusals_for(domain.slug)]
            classifications = refusal_classifier().classify(screening.text, categories)
            content = decide_content(policy, domain=domain.slug, classifications=classifications)
        except Exception as exc:
            raise _Fail(Reason.POLICY_UNAVAILABLE, type(exc).__name__) from exc
        timings["policy_ms"] = _ms(started)
        decision = {
            **summary,
            "action": content.action,
            "backend": {"model": route.backend["model"], "region": route.backend["region"]},
            "rules": [*route.rules, *content.rules],
            "refusal": (
                {
                    "category": content.rule.category,
                    "text": content.rule.text,
                    "reason": content.rule.reason,
                }
                if content.rule
                else None
            ),
        }
        _step(
            inquiry,
            AuditEvent.Type.INQUIRY_POLICY_DECIDED,
            {
                "policy_id": policy.jurisdiction,
                "policy_version": policy.version,
                "action": content.action,
                "rules": decision["rules"],
                "ms": timings["policy_ms"],
            },
            policy_id=policy.jurisdiction,
            policy_version=policy.version,
            policy_decision=decision,
            refusal_category=content.rule.category if content.rule else "",
            retain_until=inquiry.created_at + timedelta(days=policy.retention_days),
            progress=Progress.RETRIEVING,
        )
        if content.action == "refuse":
            _finish(
                inquiry,
                key,
                status=Inquiry.Status.REFUSED,
                answer=content.rule.text,
                timings=timings,
            )
            return

        # 4. Retrieve passages for the redacted question.
        step = "retrieve"
        started = time.perf_counter()
        try:
            # A follow-up ("and for a business associate?") is retrieved with the turn before it.
            query = "\n".join([*history.questions[-1:], screening.text])
            passages = passages_retrieve(
                domain=domain, jurisdiction=inquiry.jurisdiction, query=query
            )
        except Exception as exc:
            logger.error("inquiry %s: retrieval failed: %s", inquiry.id, safe_traceback(exc))
            raise _Fail(Reason.RETRIEVAL_FAILED) from exc
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
            progress=Progress.GENERATING,
        )
        notice = content.rule.text if content.action == "general_only" else ""
        if not passages:
            _finish(
                inquiry,
                key,
                answer=_compose(
                    notice,
                    "The available sources for this domain and jurisdiction do not cover this "
                    "question, so no answer was generated.",
                    summary["disclaimer"],
                ),
                grounding=Inquiry.Grounding.NO_PASSAGES,
                timings=timings,
            )
            return

        # 5. Generate from the redacted question and the passages.
        step = "generate"
        profile = route.backend
        started = time.perf_counter()
        backend = backend_for(profile)
        system_prompt = domain.system_prompt
        if content.action == "general_only":
            system_prompt += f"\n\n{GENERAL_ONLY_INSTRUCTION}"
        messages, included = build_messages(
            system_prompt=system_prompt,
            question=screening.text,
            passages=passages,
            count_tokens=backend.count_tokens,
            max_input_tokens=profile["max_input_tokens"],
            history=list(zip(history.questions, history.answers, strict=True)),
        )
        drafts = DraftPublisher(inquiry, key, entities=summary["entities"])
        generation = backend.generate(
            messages, max_new_tokens=profile["max_new_tokens"], on_text=drafts
        )
        if drafts.screening_error is not None:
            raise _Fail(Reason.OUTPUT_SCREENING_FAILED, str(drafts.screening_error))
        timings["generate_ms"] = _ms(started)
        _step(
            inquiry,
            AuditEvent.Type.INQUIRY_GENERATED,
            {
                "model_id": generation.model_id,
                "model_version": generation.model_version,
                "region": profile["region"],
                "prompt_tokens": generation.prompt_tokens,
                "completion_tokens": generation.completion_tokens,
                "passages_in_prompt": len(included),
                "ms": timings["generate_ms"],
            },
            model_id=generation.model_id,
            model_version=generation.model_version,
            progress=Progress.SCREENING_ANSWER,
        )

        # 6. Screen the output and check its citations before anything is stored.
        step = "screen_output"
        started = time.perf_counter()
        try:
            screened_answer = pii.screen_output(generation.text, entities=summary["entities"])
        except pii.PiiDetectionError as exc:
            raise _Fail(Reason.OUTPUT_SCREENING_FAILED, str(exc)) from exc
        cited = resolve_citations(screened_answer.text, included)
        timings["screen_output_ms"] = _ms(started)
        _finish(
            inquiry,
            key,
            answer=_compose(notice, cited.text, summary["disclaimer"]),
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
    except _Fail as failure:
        inquiry_fail(
            inquiry_id=inquiry.id,
            attempt=inquiry.attempts,
            reason=failure.reason,
            step=step,
            detail=failure.detail,
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
        inquiry_fail(
            inquiry_id=inquiry.id, attempt=inquiry.attempts, reason=Reason.INTERNAL_ERROR, step=step
        )


GENERAL_ONLY_INSTRUCTION = (
    "The question concerns a particular person's situation. Explain only what the rules say in "
    "general. Do not say what this person should do."
)


def _compose(notice: str, body: str, disclaimer: dict[str, str] | None) -> str:
    """The delivered answer: a policy notice if any, the body, then the policy's disclaimer."""
    parts = [notice, body]
    if disclaimer:
        parts.append(f"Disclaimer ({disclaimer['version']}): {disclaimer['text']}")
    return "\n\n".join(part for part in parts if part)


def _refuse(
    inquiry: Inquiry,
    key: ContentKey,
    policy: Policy,
    summary: dict[str, Any],
    rules: list[dict[str, Any]],
    *,
    reason: str,
    text: str,
    timings: dict[str, int],
) -> None:
    """End the inquiry refused because routing is no longer allowed (the policy changed)."""
    _step(
        inquiry,
        AuditEvent.Type.INQUIRY_POLICY_DECIDED,
        {
            "policy_id": policy.jurisdiction,
            "policy_version": policy.version,
            "action": "refuse",
            "rules": rules,
        },
        policy_id=policy.jurisdiction,
        policy_version=policy.version,
        policy_decision={
            **summary,
            "action": "refuse",
            "rules": rules,
            "refusal": {"category": reason, "text": text, "reason": text},
        },
        refusal_category=reason,
    )
    _finish(inquiry, key, status=Inquiry.Status.REFUSED, answer=text, timings=timings)


def _finish(
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
    finished = timezone.now()
    timings["total_ms"] = round((finished - inquiry.created_at).total_seconds() * 1000)
    citations = citations or []
    with transaction.atomic():
        if not _save_step(
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
            _audit(
                inquiry,
                AuditEvent.Type.INQUIRY_OUTPUT_SCREENED,
                AuditEvent.Outcome.SUCCESS,
                **screening_details,
            )
        if status == Inquiry.Status.REFUSED:
            _audit(
                inquiry,
                AuditEvent.Type.INQUIRY_REFUSED,
                AuditEvent.Outcome.DENIED,
                category=inquiry.refusal_category,
                policy_id=inquiry.policy_id,
                policy_version=inquiry.policy_version,
                timings=timings,
            )
        else:
            _audit(
                inquiry,
                AuditEvent.Type.INQUIRY_ANSWERED,
                AuditEvent.Outcome.SUCCESS,
                grounding=grounding,
                citations=[c["passage_id"] for c in citations],
                timings=timings,
            )


def inquiries_purge_expired(*, now: datetime | None = None) -> int:
    """Remove the content of inquiries past their jurisdiction's retention period: the question,
    its redacted form, the answer, the pseudonym vault and the key they were encrypted with.
    Metadata and the audit trail stay."""
    now = now or timezone.now()
    purged = 0
    expired = Inquiry.objects.filter(retain_until__lte=now, content_purged_at__isnull=True).exclude(
        status=Inquiry.Status.RUNNING
    )
    for inquiry_id in expired.values_list("id", flat=True):
        with transaction.atomic():
            inquiry = (
                Inquiry.objects.select_for_update()
                .select_related("domain")
                .filter(pk=inquiry_id, content_purged_at__isnull=True)
                .exclude(status=Inquiry.Status.RUNNING)
                .first()
            )
            if inquiry is None:
                continue
            _erase_content(inquiry, now)
            _audit(
                inquiry,
                AuditEvent.Type.INQUIRY_CONTENT_PURGED,
                AuditEvent.Outcome.SUCCESS,
                policy_id=inquiry.policy_id,
                policy_version=inquiry.policy_version,
                retain_until=inquiry.retain_until.isoformat(),
            )
            purged += 1
    return purged


def _erase_content(inquiry: Inquiry, now: datetime) -> None:
    # Destroying the content key makes every copy of the content unreadable (backups,
    # replicas); the ciphertext is removed as well.
    inquiry.content_key_wrapped = ""
    inquiry.question_ciphertext = ""
    inquiry.redacted_question_ciphertext = ""
    inquiry.answer_ciphertext = ""
    inquiry.vault_ciphertext = ""
    inquiry.draft_ciphertext = ""
    inquiry.content_purged_at = now
    if not inquiry.is_finished:
        # A question that was never processed is not processed after its content is gone; a
        # worker running it loses its claim at its next step and stores nothing more.
        inquiry.status = Inquiry.Status.FAILED
        inquiry.failure_reason = Reason.CONTENT_UNREADABLE
        inquiry.finished_at = now
        inquiry.progress = ""
        inquiry.lease_expires_at = None
    inquiry.save()


def conversation_delete(*, user: AbstractBaseUser, conversation_id: uuid.UUID) -> int:
    """Delete one of the user's conversations: the content of its inquiries is erased (keys
    destroyed), it disappears from their history, and the audit trail keeps a record of it.
    Returns the number of inquiries erased."""
    live = Conversation.objects.filter(pk=conversation_id, deleted_at__isnull=True)
    # Decided outside the transaction below, so that the audited denial is not rolled back.
    authorize_owner(user, live.first(), Action.CONVERSATION_DELETE, kind="conversation")
    with transaction.atomic():
        conversation = live.select_for_update().select_related("domain").first()
        if conversation is None:  # deleted meanwhile by a concurrent request
            raise NotVisible("No conversation with this id belongs to you.")
        now = timezone.now()
        inquiries = list(
            Inquiry.objects.select_for_update()
            .select_related("domain", "user")
            .filter(conversation=conversation)
        )
        for inquiry in inquiries:
            if inquiry.content_purged_at is None:
                _erase_content(inquiry, now)
        conversation.deleted_at = now
        conversation.save(update_fields=["deleted_at"])
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.CONVERSATION_DELETED,
            outcome=AuditEvent.Outcome.SUCCESS,
            domain=conversation.domain.slug,
            jurisdiction=conversation.jurisdiction,
            details={
                "conversation": str(conversation.pk),
                "inquiries": [str(i.pk) for i in inquiries],
            },
        )
    return len(inquiries)


def token_create(*, user: AbstractBaseUser, label: str = "") -> tuple[ApiToken, str]:
    """A new API token for the user, and its secret (shown once; only its digest is kept)."""
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    live = ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).count()
    if live >= limit:
        raise ValidationError(
            {"non_field_errors": [f"You already have {live} live tokens; revoke one first."]},
            code="token_limit",
        )
    with transaction.atomic():
        token, secret = ApiToken.objects.create(user=user, label=label)
        # Getting a token is the API's login: it goes in the trail like a portal login.
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.AUTH_LOGIN,
            outcome=AuditEvent.Outcome.SUCCESS,
            details={"channel": "api", "method": "token", "token": str(token.public_id)},
        )
    return token, secret


def token_revoke(*, user: AbstractBaseUser, public_id: uuid.UUID) -> None:
    # Decided outside the transaction below, so that the audited denial is not rolled back.
    token = authorize_owner(
        user,
        ApiToken.objects.filter(public_id=public_id).first(),
        Action.TOKEN_REVOKE,
        kind="token",
    )
    with transaction.atomic():
        token.delete()
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.AUTH_TOKEN_REVOKED,
            outcome=AuditEvent.Outcome.SUCCESS,
            details={"token": str(public_id)},
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
    refusal_classifier().warm()
    try:
        domains = list(Domain.objects.filter(is_active=True))
    except Exception as exc:  # an unmigrated database: the worker still starts
        logger.warning("model warm-up skipped: %s", safe_traceback(exc))
        return
    for domain in domains:
        embedder(domain.embedding_model)
        try:
            for profile in domain.model_backends:
                backend_for(profile)
        except BackendError as exc:
            logger.warning("domain %s: model not loaded: %s", domain.slug, exc)
    logger.info("models warm in %.1f s", time.perf_counter() - started)
