from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.db import models

from compliance.audit_chain import GENESIS


class AuditEventQuerySet(models.QuerySet):
    # The trail is append-only. PostgreSQL enforces it with a trigger (migration 0004); this
    # stops the ORM's bulk paths before they reach it, on every database.
    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")


class AppendOnlyError(Exception):
    pass


class AuditEvent(models.Model):
    """One event of the hash-chained audit trail. Records entity types and counts, never content.

    ``content`` is the canonical serialization (compliance.audit_chain.canonical) of the fields
    below and ``hash = SHA-256(prev_hash + content)``; the other columns are copies of the content
    for searching, and verification checks that they agree with it.
    """

    class Type(models.TextChoices):
        INQUIRY_RECEIVED = "inquiry.received", "Inquiry received"
        INQUIRY_SCREENED = "inquiry.screened", "Input screened for personal data"
        INQUIRY_POLICY_DECIDED = "inquiry.policy_decided", "Policy decision"
        INQUIRY_RETRIEVED = "inquiry.retrieved", "Passages retrieved"
        INQUIRY_EVIDENCE_SELECTED = "inquiry.evidence_selected", "Evidence selected"
        INQUIRY_GENERATED = "inquiry.generated", "Draft generated"
        INQUIRY_VERIFIED = "inquiry.verified", "Draft verified against its evidence"
        INQUIRY_OUTPUT_SCREENED = "inquiry.output_screened", "Answer screened"
        INQUIRY_ANSWERED = "inquiry.answered", "Answer delivered"
        INQUIRY_REFUSED = "inquiry.refused", "Refused by policy"
        INQUIRY_CONTENT_PURGED = "inquiry.content_purged", "Content removed after retention"
        INQUIRY_RETRY = "inquiry.retry", "Transient failure, retry scheduled"
        INQUIRY_FAILED = "inquiry.failed", "Inquiry failed"
        ACCESS_DENIED = "access.denied", "Access denied"
        AUTH_LOGIN = "auth.login", "Logged in"
        AUTH_LOGIN_FAILED = "auth.login_failed", "Failed login"
        AUTH_LOGOUT = "auth.logout", "Logged out"
        AUTH_LOCKED_OUT = "auth.locked_out", "Login refused after repeated failures"
        AUTH_TOKEN_REVOKED = "auth.token_revoked", "API token revoked"
        CONVERSATION_DELETED = "conversation.deleted", "Conversation deleted by its owner"
        CONTENT_REVEALED = "content.revealed", "Content revealed to a compliance officer"
        POLICY_REFUSED = "policy.refused", "Request refused by policy before it was accepted"
        POLICY_CHANGED = "policy.changed", "Jurisdiction policy added, changed or removed"
        DOMAIN_SYNCED = "domain.synced", "Domain definition synchronised"
        DOMAIN_CHANGED = "domain.changed", "Domain changed by an administrator"
        CORPUS_INGESTED = "corpus.ingested", "Documents ingested into a corpus"
        KEYS_ROTATED = "keys.rotated", "Content keys re-wrapped with the newest master key"
        AUDIT_VERIFIED = "audit.verified", "Audit trail verified"
        AUDIT_EXPORTED = "audit.exported", "Audit trail exported"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    # PROTECT: an account that appears in the trail is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, default="system")
    organization = models.CharField(max_length=64, blank=True, db_index=True)
    # Not a foreign key: the trail must outlive erasure of the inquiry it describes.
    inquiry_id = models.UUIDField(null=True, blank=True, db_index=True)
    domain = models.CharField(max_length=64, blank=True)
    jurisdiction = models.CharField(max_length=16, blank=True)
    event_type = models.CharField(max_length=40, choices=Type.choices, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    details = models.JSONField(default=dict, blank=True)
    content = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.created_at:%Y-%m-%d %H:%M:%S} {self.event_type} {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")

    def columns(self) -> dict:
        """The searchable columns, keyed as in the hashed content."""
        return {
            "seq": self.seq,
            "at": audit_time(self.created_at),
            "actor": self.actor_label,
            "actor_id": self.actor_id,
            "organization": self.organization,
            "inquiry": str(self.inquiry_id) if self.inquiry_id else None,
            "domain": self.domain,
            "jurisdiction": self.jurisdiction,
            "type": self.event_type,
            "outcome": self.outcome,
            "details": self.details,
        }


def audit_time(moment) -> str:
    """UTC, microseconds, ``Z``: the one time format of hashed content."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditChainHead(models.Model):
    """The last event's position and hash. Appenders lock this row, so the chain never forks or
    skips a number however many workers write; it also reveals a truncated tail."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)

    def __str__(self) -> str:
        return f"chain head at event #{self.seq}"


class AuditCheckpoint(models.Model):
    """The chain head at ``seq``, signed with the Ed25519 key held outside the database."""

    number = models.PositiveIntegerField(unique=True)
    seq = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    signed_at = models.CharField(max_length=32)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"checkpoint #{self.number} at event #{self.seq}"

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "seq": self.seq,
            "hash": self.hash,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
            "signature": self.signature,
        }
