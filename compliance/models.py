from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One step outcome of a request. Records entity types and counts, never content."""

    class Type(models.TextChoices):
        INQUIRY_RECEIVED = "inquiry.received", "Inquiry received"
        INQUIRY_SCREENED = "inquiry.screened", "Input screened for personal data"
        INQUIRY_POLICY_DECIDED = "inquiry.policy_decided", "Policy decision"
        INQUIRY_RETRIEVED = "inquiry.retrieved", "Passages retrieved"
        INQUIRY_GENERATED = "inquiry.generated", "Answer generated"
        INQUIRY_OUTPUT_SCREENED = "inquiry.output_screened", "Answer screened"
        INQUIRY_ANSWERED = "inquiry.answered", "Answer delivered"
        INQUIRY_REFUSED = "inquiry.refused", "Refused by policy"
        INQUIRY_CONTENT_PURGED = "inquiry.content_purged", "Content removed after retention"
        INQUIRY_RETRY = "inquiry.retry", "Transient failure, retry scheduled"
        INQUIRY_FAILED = "inquiry.failed", "Inquiry failed"
        ACCESS_DENIED = "access.denied", "Access denied"
        POLICY_REFUSED = "policy.refused", "Request refused by policy before it was accepted"
        DOMAIN_SYNCED = "domain.synced", "Domain definition synchronised"
        CORPUS_INGESTED = "corpus.ingested", "Documents ingested into a corpus"
        KEYS_ROTATED = "keys.rotated", "Content keys re-wrapped with the newest master key"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PROTECT: an account that appears in the trail is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Not a foreign key: the trail must outlive erasure of the inquiry it describes.
    inquiry_id = models.UUIDField(null=True, blank=True, db_index=True)
    domain = models.CharField(max_length=64, blank=True)
    jurisdiction = models.CharField(max_length=16, blank=True)
    event_type = models.CharField(max_length=40, choices=Type.choices, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.event_type} {self.outcome}"

    @property
    def actor_label(self) -> str:
        return self.actor.get_username() if self.actor_id else "system"
