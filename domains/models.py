from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models

from domains.ingestion import SUPPORTED_SUFFIXES


class Domain(models.Model):
    """A field of practice: its model profile, system prompt, jurisdictions and corpus.

    Rows are synchronised from ``domains/catalog/<slug>/domain.yaml`` by ``domains_sync``; the
    files are the source of truth and are versioned with the code.
    """

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    jurisdictions = models.JSONField(default=list)
    # Role names (Django groups) whose members may ask questions in this domain.
    roles = models.JSONField(default=list)
    system_prompt = models.TextField()
    # Worked examples for the grounded answer prompt: {"evidence": [{"citation", "text"}],
    # "question", "answer"} (see domains.catalog).
    answer_examples = models.JSONField(default=list, blank=True)
    # Model backends in order of preference; the jurisdiction's policy decides which may be used.
    model_backends = models.JSONField(default=list)
    retrieval = models.JSONField(default=dict)
    embedding_model = models.CharField(max_length=200)
    definition_sha256 = models.CharField(max_length=64, blank=True)
    # A fresh random token whenever the passages change. Workers compare it with the index they
    # hold; being random, it never matches an index built from another database.
    index_revision = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Passage(models.Model):
    """A retrievable unit of a domain's corpus, with its citation label and embedding."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="passages")
    source_id = models.CharField(max_length=200)
    citation = models.CharField(max_length=200)
    title = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    # Jurisdiction codes the passage applies to; "*" applies everywhere.
    jurisdictions = models.JSONField(default=list)
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=300, blank=True)
    content_sha256 = models.CharField(max_length=64)
    # float32 vector, L2-normalised, from ``embedding_model``. The faiss index on disk is a
    # cache built from these, so any worker on any machine can rebuild it from the database.
    embedding = models.BinaryField()
    # The same model's token vectors (``embeddings.encode``), float16 rows of
    # ``TOKEN_DIMENSIONS``, for late interaction. Empty for passages stored before it existed,
    # until the next re-embed.
    token_vectors = models.BinaryField(default=b"", blank=True)
    embedding_model = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["domain", "source_id"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "source_id"], name="passage_unique_source_id")
        ]

    def __str__(self) -> str:
        return f"{self.domain.slug}:{self.source_id}"


class EmbeddingProfile(models.Model):
    """A version of a domain's embedding model made by ``embeddings_finetune``. The active one
    is the domain's ``embedding_model``; a domain sync keeps it while the domain's definition
    still names the model it was trained from."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="embedding_profiles")
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=500)
    base_model = models.CharField(max_length=500)
    details = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "version"], name="embedding_profile_version")
        ]
        ordering = ["domain", "version"]

    def __str__(self) -> str:
        return f"{self.domain.slug} embeddings v{self.version}"


class GenerativeProfile(models.Model):
    """A version of a domain's generative model made by ``slm_finetune``: LoRA on the model the
    domain's definition names (``base_model``), merged and written where ``model`` says (a
    folder with ``model.gguf`` for llama.cpp and ``hf/`` for transformers). While active, it
    replaces ``base_model`` in the domain's local model profiles; a domain sync keeps it so
    while the definition still names that base model."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="generative_profiles")
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=500)
    base_model = models.CharField(max_length=500)
    details = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "version"], name="generative_profile_version")
        ]
        ordering = ["domain", "version"]

    def __str__(self) -> str:
        return f"{self.domain.slug} generative model v{self.version}"


def _upload_path(instance: DocumentUpload, filename: str) -> str:
    return f"uploads/{instance.domain.slug}/{instance.token}/{filename}"


class DocumentUpload(models.Model):
    """A document sent through the API or the admin, ingested by a worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ingested"
        FAILED = "failed", "Failed"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="uploads")
    file = models.FileField(
        upload_to=_upload_path,
        max_length=500,
        validators=[FileExtensionValidator([s.lstrip(".") for s in SUPPORTED_SUFFIXES])],
    )
    jurisdictions = models.JSONField(default=list, blank=True)
    citation_prefix = models.CharField(max_length=80, blank=True)
    effective_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Claims so far: a document that kills its worker is redelivered, but not for ever.
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file.name} ({self.status})"
