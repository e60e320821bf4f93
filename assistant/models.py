from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from knox.models import AbstractAuthToken

from domains.models import Domain


class Organization(models.Model):
    """A customer of the service (a hospital, a law firm); its members see only its data."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization}"


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox): only its digest is stored; it expires and can be revoked.
    ``public_id`` names it in the API without revealing any part of the secret."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.label or 'token'} ({self.public_id})"


class Conversation(models.Model):
    """A sequence of inquiries in one domain and jurisdiction, asked by one user. Its title is
    its first redacted question, so it needs no content of its own."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conversations"
    )
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="conversations")
    jurisdiction = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Deleting a conversation erases its inquiries' content; the rows and the trail stay.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return str(self.id)


class IdempotencyKey(models.Model):
    """The inquiry a client's ``Idempotency-Key`` created, so that a retried request returns it
    instead of creating a second one. ``request_hash`` is an HMAC of the request body, which
    tells a genuine retry from a different request reusing the key without storing the body."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    inquiry = models.ForeignKey("Inquiry", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.inquiry_id}"


class Inquiry(models.Model):
    """A question and its answer. All content is stored encrypted (see compliance.crypto):
    the question as asked, its redacted form, the answer and the pseudonym vault."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        ANSWERED = "answered", "Answered"
        REFUSED = "refused", "Refused by policy"
        FAILED = "failed", "Failed"

    class FailureReason(models.TextChoices):
        QUEUE_UNAVAILABLE = "queue_unavailable", "The work queue could not be reached."
        CONTENT_UNREADABLE = "content_unreadable", "The stored question could not be decrypted."
        POLICY_UNAVAILABLE = (
            "policy_unavailable",
            "The jurisdiction's policy could not be evaluated, so the question was not processed.",
        )
        PII_DETECTION_FAILED = (
            "pii_detection_failed",
            "Personal data detection failed; the question was not processed.",
        )
        RETRIEVAL_FAILED = "retrieval_failed", "Passage retrieval failed."
        MODEL_UNAVAILABLE = "model_unavailable", "The domain's model could not be used."
        OUTPUT_SCREENING_FAILED = (
            "output_screening_failed",
            "The answer could not be screened, so it was withheld.",
        )
        ATTEMPTS_EXHAUSTED = (
            "attempts_exhausted",
            "The inquiry failed after the maximum number of attempts.",
        )
        INTERNAL_ERROR = "internal_error", "An internal error stopped the inquiry."

    class Grounding(models.TextChoices):
        VERIFIED = "verified", "Every sentence checked against the evidence it quotes"
        QUOTED = "quoted", "No sentence could be checked: the evidence quoted alone"
        ABSTAINED = "abstained", "The sources do not answer the question"
        NO_PASSAGES = "no_passages", "No passage in the corpus matched the question"
        # Answers made before verification existed (the model's text, delivered as written).
        CITED = "cited", "Before verification: the model cited the passages it used"
        ATTRIBUTED = "attributed", "Before verification: citations attributed by overlap"
        UNSUPPORTED = "unsupported", "Before verification: no retrieved passage supports it"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inquiries"
    )
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="inquiries")
    jurisdiction = models.CharField(max_length=16)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.PROTECT, related_name="inquiries"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    # The pipeline step a running inquiry is in, shown while the user waits.
    progress = models.CharField(max_length=24, blank=True)

    # The per-inquiry content key, wrapped by the master keys (compliance.crypto.ContentKey).
    # Emptying it erases the content: every *_ciphertext below becomes unreadable.
    content_key_wrapped = models.TextField(blank=True)
    question_ciphertext = models.TextField()
    redacted_question_ciphertext = models.TextField(blank=True)
    answer_ciphertext = models.TextField(blank=True)
    vault_ciphertext = models.TextField(blank=True)
    # The answer so far while it is generated, already screened for personal data; streamed to
    # the requester and replaced by the final answer.
    draft_ciphertext = models.TextField(blank=True)

    question_entities = models.JSONField(default=dict, blank=True)
    answer_entities = models.JSONField(default=dict, blank=True)
    citations = models.JSONField(default=list, blank=True)
    grounding = models.CharField(max_length=16, choices=Grounding.choices, blank=True)
    # Rule references in the answer that no retrieved passage contains. Verification drops any
    # sentence with one, so only answers made before it have any.
    unverified_references = models.JSONField(default=list, blank=True)
    model_id = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    # The policy that decided this inquiry: its jurisdiction, the content hash of its version,
    # and every rule that fired and why (see compliance.decisions).
    policy_id = models.CharField(max_length=16, blank=True)
    policy_version = models.CharField(max_length=64, blank=True)
    policy_decision = models.JSONField(default=dict, blank=True)
    refusal_category = models.CharField(max_length=64, blank=True)
    # Content (question, answer, vault) is removed after this time; the audit trail stays.
    retain_until = models.DateTimeField(null=True, blank=True, db_index=True)
    content_purged_at = models.DateTimeField(null=True, blank=True)

    failure_reason = models.CharField(max_length=32, choices=FailureReason.choices, blank=True)
    failure_detail = models.CharField(max_length=300, blank=True)

    attempts = models.PositiveSmallIntegerField(default=0)
    # While running, the claim expires at this time; an expired claim means the worker died.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "inquiries"

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.ANSWERED, self.Status.REFUSED, self.Status.FAILED}
