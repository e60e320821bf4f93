"""Removing content: at the end of its jurisdiction's retention period, or when its owner erases
it. Metadata and the audit trail stay; the content key is destroyed with the content."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from assistant.inquiries.events import inquiry_event_record
from assistant.models import Inquiry
from compliance.models import AuditEvent


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
            content_erase(inquiry, now)
            inquiry_event_record(
                inquiry,
                AuditEvent.Type.INQUIRY_CONTENT_PURGED,
                AuditEvent.Outcome.SUCCESS,
                policy_id=inquiry.policy_id,
                policy_version=inquiry.policy_version,
                retain_until=inquiry.retain_until.isoformat(),
            )
            purged += 1
    return purged


def content_erase(inquiry: Inquiry, now: datetime) -> None:
    """Erase an inquiry's content (inside the caller's transaction, on a locked row)."""
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
        inquiry.failure_reason = Inquiry.FailureReason.CONTENT_UNREADABLE
        inquiry.finished_at = now
        inquiry.progress = ""
        inquiry.lease_expires_at = None
    inquiry.save()
