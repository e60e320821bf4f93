"""The web side of an inquiry: validate, authorize, check the route, store the question
encrypted with its audit event in one transaction, and queue its id after the commit.
Idempotency keys make a retried request return the inquiry it created the first time."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from assistant.authorization import NotVisible, authorize_domain
from assistant.inquiries import queue
from assistant.inquiries.claims import inquiry_fail
from assistant.models import Conversation, IdempotencyKey, Inquiry
from assistant.selectors import conversation_get, domain_route
from assistant.tracebacks import safe_traceback
from compliance.crypto import ContentKey
from compliance.models import AuditEvent
from compliance.policy import Policy, policies
from compliance.services import audit_event_record
from domains.models import Domain
from domains.selectors import domain_get

logger = logging.getLogger(__name__)

Reason = Inquiry.FailureReason


class QueueUnavailable(Exception):
    """The inquiry was stored but could not be queued; it has been marked failed."""

    def __init__(self, inquiry: Inquiry) -> None:
        super().__init__("the work queue could not be reached")
        self.inquiry = inquiry


class PolicyRefused(Exception):
    """The jurisdiction's policy does not allow this request; nothing was stored."""

    def __init__(self, *, policy: Policy, reason: str, message: str) -> None:
        super().__init__(message)
        self.policy = policy
        self.reason = reason
        self.message = message


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
    domain_row, policy = _validate(domain, jurisdiction)
    authorize_domain(user, domain_row, jurisdiction=jurisdiction)
    _check_route(user, policy, domain_row)

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


def _validate(domain: str | None, jurisdiction: str | None) -> tuple[Domain, Policy]:
    """The domain and the jurisdiction's policy, or a ``ValidationError`` naming the field."""
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
    return domain_row, policy


def _check_route(user: AbstractBaseUser, policy: Policy, domain: Domain) -> None:
    """``PolicyRefused`` (audited) when the policy does not offer the domain or no model
    backend runs in a region it allows: nothing is stored or sent anywhere."""
    route = domain_route(policy=policy, domain=domain)
    if route.allowed:
        return
    audit_event_record(
        actor=user,
        event_type=AuditEvent.Type.POLICY_REFUSED,
        outcome=AuditEvent.Outcome.DENIED,
        domain=domain.slug,
        jurisdiction=policy.jurisdiction,
        details={
            "policy_id": policy.jurisdiction,
            "policy_version": policy.version,
            "reason": route.reason,
            "rules": route.rules,
        },
    )
    raise PolicyRefused(policy=policy, reason=route.reason, message=route.message)


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
        queue.enqueue(inquiry_id)
    except Exception as exc:
        logger.error("queueing inquiry %s failed: %s", inquiry_id, safe_traceback(exc))
        inquiry_fail(
            inquiry_id=inquiry_id, attempt=None, reason=Reason.QUEUE_UNAVAILABLE, step="queue"
        )
