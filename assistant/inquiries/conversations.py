"""Deleting a conversation: its owner erases the content of all its inquiries at once."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from assistant.authorization import Action, NotVisible, authorize_owner
from assistant.inquiries.retention import content_erase
from assistant.models import Conversation, Inquiry
from compliance.models import AuditEvent
from compliance.services import audit_event_record


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
                content_erase(inquiry, now)
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
