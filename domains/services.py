from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from compliance.models import AuditEvent
from compliance.services import audit_event_record
from domains.catalog import DomainDefinition
from domains.embeddings import encode
from domains.ingestion import (
    EVERYWHERE,
    SUPPORTED_SUFFIXES,
    IngestionError,
    PassageDraft,
    parse_file,
)
from domains.models import DocumentUpload, Domain, GenerativeProfile, Passage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def corpus_ingest(
    *,
    domain: Domain,
    drafts: list[PassageDraft],
    actor: AbstractBaseUser | None,
    progress: bool = False,
) -> IngestResult:
    """Add or update passages, and drop passages of the same sources that the drafts no longer
    contain (a changed document replaces its old passages). Idempotent: re-ingesting unchanged
    documents changes nothing, embeds nothing and keeps the index revision."""
    sources = {draft.source for draft in drafts}
    existing = {
        row["source_id"]: row
        for row in Passage.objects.filter(domain=domain).values(
            "id", "source_id", "source", "content_sha256", "embedding_model"
        )
    }
    wanted = {draft.source_id for draft in drafts}
    to_embed = [
        draft
        for draft in drafts
        if draft.source_id not in existing
        or existing[draft.source_id]["content_sha256"] != draft.content_sha256
        or existing[draft.source_id]["embedding_model"] != domain.embedding_model
        or existing[draft.source_id]["source"] != draft.source
    ]
    stale_ids = [
        row["id"]
        for source_id, row in existing.items()
        if row["source"] in sources and source_id not in wanted
    ]
    # Embedding is slow; it happens before the transaction so no lock is held meanwhile.
    encoded = encode(
        [d.embedding_text for d in to_embed], model=domain.embedding_model, progress=progress
    )
    added = updated = 0
    with transaction.atomic():
        for draft, vector, rows in zip(to_embed, encoded.vectors, encoded.tokens, strict=True):
            _, created = Passage.objects.update_or_create(
                domain=domain,
                source_id=draft.source_id,
                defaults={
                    "citation": draft.citation,
                    "title": draft.title,
                    "text": draft.text,
                    "jurisdictions": draft.jurisdictions,
                    "metadata": draft.metadata,
                    "source": draft.source,
                    "content_sha256": draft.content_sha256,
                    "embedding": vector.tobytes(),
                    "token_vectors": rows.tobytes(),
                    "embedding_model": domain.embedding_model,
                },
            )
            added += created
            updated += not created
        removed, _ = Passage.objects.filter(id__in=stale_ids).delete()
        result = IngestResult(
            added=added, updated=updated, unchanged=len(drafts) - len(to_embed), removed=removed
        )
        if result.changed or not domain.index_revision:
            domain.index_revision = uuid.uuid4().hex
            domain.save(update_fields=["index_revision", "updated_at"])
        if result.changed:
            audit_event_record(
                actor=actor,
                event_type=AuditEvent.Type.CORPUS_INGESTED,
                outcome=AuditEvent.Outcome.SUCCESS,
                domain=domain.slug,
                details={
                    "sources": sorted(sources),
                    "added": result.added,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "removed": result.removed,
                    "index_revision": domain.index_revision,
                    "embedding_model": domain.embedding_model,
                },
            )
    # Build the index files now, so the first question does not wait for them. Imported here:
    # web processes use this module to accept uploads and never load faiss or bm25s.
    from domains import index, lexical, tokens

    index.load(domain)
    lexical.load(domain)
    tokens.load(domain)
    return result


def corpus_reembed(*, domain: Domain, progress: bool = False) -> int:
    """Re-embed passages made with another embedding model than the domain's current one, or
    stored without token vectors."""
    stale = list(
        Passage.objects.filter(domain=domain).filter(
            ~Q(embedding_model=domain.embedding_model) | Q(token_vectors=b"")
        )
    )
    if not stale:
        return 0
    drafts = [
        PassageDraft(
            p.source_id, p.citation, p.text, p.jurisdictions, p.source, p.title, p.metadata
        )
        for p in stale
    ]
    encoded = encode(
        [d.embedding_text for d in drafts], model=domain.embedding_model, progress=progress
    )
    with transaction.atomic():
        for passage, vector, rows in zip(stale, encoded.vectors, encoded.tokens, strict=True):
            passage.embedding = vector.tobytes()
            passage.token_vectors = rows.tobytes()
            passage.embedding_model = domain.embedding_model
            passage.save(
                update_fields=["embedding", "token_vectors", "embedding_model", "updated_at"]
            )
        domain.index_revision = uuid.uuid4().hex
        domain.save(update_fields=["index_revision", "updated_at"])
    return len(stale)


def domain_sync(
    *, definition: DomainDefinition, actor: AbstractBaseUser | None, progress: bool = False
) -> tuple[Domain, IngestResult]:
    """Create or update a domain from its definition file and ingest its starter corpus."""
    with transaction.atomic():
        domain, created = Domain.objects.select_for_update().get_or_create(
            slug=definition.slug,
            defaults={"name": definition.name, "system_prompt": definition.system_prompt},
        )
        changed = created or domain.definition_sha256 != definition.sha256
        domain.name = definition.name
        domain.description = definition.description
        domain.jurisdictions = definition.jurisdictions
        domain.roles = definition.roles
        domain.system_prompt = definition.system_prompt
        domain.answer_examples = definition.answer_examples
        domain.model_backends = model_profiles_in_use(domain, definition.models)
        domain.retrieval = definition.retrieval
        domain.embedding_model = embedding_model_in_use(domain, definition.embedding_model)
        domain.definition_sha256 = definition.sha256
        domain.is_active = True
        domain.save()
        if changed:
            audit_event_record(
                actor=actor,
                event_type=AuditEvent.Type.DOMAIN_SYNCED,
                outcome=AuditEvent.Outcome.SUCCESS,
                domain=domain.slug,
                details={"definition_sha256": definition.sha256, "created": created},
            )
    corpus_reembed(domain=domain, progress=progress)
    drafts: list[PassageDraft] = []
    for path in definition.corpus_files:
        drafts += parse_file(
            path,
            jurisdictions=definition.jurisdictions,
            source=f"catalog:{domain.slug}/{path.name}",
        )
    result = corpus_ingest(domain=domain, drafts=drafts, actor=actor, progress=progress)
    return domain, result


def embedding_model_in_use(domain: Domain, named: str) -> str:
    """The model a domain whose definition names ``named`` embeds with: a fine-tuned version
    of it stays in use (``embeddings_finetune``) until the definition names another."""
    tuned = domain.embedding_profiles.filter(active=True, base_model=named).last()
    return tuned.model if tuned else named


# The backends that run a model file in the worker, and where each finds a fine-tuned version in
# its profile's folder (``slm_finetune``).
TUNED_FILES = {"llama_cpp": "model.gguf", "transformers": "hf"}


def model_profiles_in_use(domain: Domain, profiles: list[dict]) -> list[dict]:
    """The model profiles a domain runs: a local profile whose model has an active fine-tuned
    version (``slm_finetune``) runs that version, and keeps the model it names as
    ``base_model``; profiles already so replaced are first put back as the definition had them."""
    tuned = {
        p.base_model: p for p in domain.generative_profiles.filter(active=True).order_by("version")
    }
    in_use = []
    for profile in profiles:
        profile = dict(profile)
        profile["model"] = profile.pop("base_model", profile.get("model"))
        version = tuned.get(profile["model"])
        if version is not None and profile.get("backend") in TUNED_FILES:
            profile["base_model"] = profile["model"]
            profile["model"] = str(Path(version.model) / TUNED_FILES[profile["backend"]])
        in_use.append(profile)
    return in_use


def generative_profile_record(
    *, domain: Domain, version: int, model: Path, manifest: dict
) -> GenerativeProfile:
    """Make a fine-tuned model the domain's active generative profile, audited as a model
    change. Workers load it for their next question: they route by the domain's profiles."""
    with transaction.atomic():
        domain = Domain.objects.select_for_update().get(pk=domain.pk)
        domain.generative_profiles.update(active=False)
        profile = GenerativeProfile.objects.create(
            domain=domain,
            version=version,
            model=str(model),
            base_model=manifest["base_model"],
            details=manifest,
        )
        domain.model_backends = model_profiles_in_use(domain, domain.model_backends)
        domain.save(update_fields=["model_backends", "updated_at"])
        audit_event_record(
            actor=None,
            event_type=AuditEvent.Type.DOMAIN_CHANGED,
            outcome=AuditEvent.Outcome.SUCCESS,
            domain=domain.slug,
            details={"change": "generative_profile", "version": version, **manifest},
        )
    return profile


def domains_sync(
    *,
    definitions: Iterable[DomainDefinition],
    actor: AbstractBaseUser | None,
    progress: bool = False,
) -> list[tuple[Domain, IngestResult]]:
    return [domain_sync(definition=d, actor=actor, progress=progress) for d in definitions]


def upload_submit(
    *,
    domain: Domain,
    file,
    name: str,
    jurisdictions: list[str],
    citation_prefix: str,
    effective_date,
    actor: AbstractBaseUser | None,
) -> DocumentUpload:
    """Store an uploaded document and queue it for ingestion (after the commit)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestionError(
            Path(name),
            f"unsupported file type {suffix!r} (supported: {', '.join(SUPPORTED_SUFFIXES)})",
        )
    with transaction.atomic():
        upload = DocumentUpload(
            domain=domain,
            jurisdictions=jurisdictions,
            citation_prefix=citation_prefix,
            effective_date=effective_date,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        upload.file.save(Path(name).name, file, save=False)
        upload.save()
        transaction.on_commit(lambda: enqueue_upload(upload.pk))
    return upload


def enqueue_upload(upload_id: int) -> None:
    from domains.tasks import document_ingest

    document_ingest.delay(upload_id)


def _upload_parse(upload: DocumentUpload, path: Path) -> list[PassageDraft]:
    """The document's passages; IngestionError, naming the problem, for any document that
    cannot become passages."""
    try:
        drafts = parse_file(
            path,
            jurisdictions=upload.jurisdictions or [EVERYWHERE],
            source=path.name,
            citation_prefix=upload.citation_prefix,
            effective_date=upload.effective_date.isoformat() if upload.effective_date else "",
        )
    except IngestionError:
        raise
    except Exception as exc:  # noqa: BLE001
        # A document that breaks its parser is a bad document, not a reason to retry: the
        # upload ends failed instead of staying "running" for ever.
        logger.warning("upload %s: the parser failed: %s", upload.pk, type(exc).__name__)
        raise IngestionError(path, f"could not be parsed ({type(exc).__name__})") from None
    limit = settings.DOCUMENT_MAX_PASSAGES
    if len(drafts) > limit:
        raise IngestionError(
            path,
            f"yields {len(drafts)} passages, more than the {limit} one document may "
            "(DOCUMENT_MAX_PASSAGES); split it",
        )
    return drafts


def upload_ingest(*, upload_id: int) -> DocumentUpload | None:
    """Parse and ingest one upload; a bad document ends ``failed`` with the reason, and so does
    one whose worker died under it more than ``UPLOAD_MAX_ATTEMPTS`` times."""
    claimed = DocumentUpload.objects.filter(
        pk=upload_id, status__in=[DocumentUpload.Status.QUEUED, DocumentUpload.Status.RUNNING]
    ).update(status=DocumentUpload.Status.RUNNING, attempts=F("attempts") + 1)
    if not claimed:
        return None  # already done: a redelivered message
    upload = DocumentUpload.objects.select_related("domain", "uploaded_by").get(pk=upload_id)
    path = Path(upload.file.path)
    try:
        if upload.attempts > settings.UPLOAD_MAX_ATTEMPTS:
            raise IngestionError(
                path,
                f"was given up after {upload.attempts - 1} attempts: the worker stopped while "
                "ingesting it each time (out of memory?)",
            )
        drafts = _upload_parse(upload, path)
        result = corpus_ingest(domain=upload.domain, drafts=drafts, actor=upload.uploaded_by)
    except IngestionError as exc:
        upload.status = DocumentUpload.Status.FAILED
        upload.error = str(exc).replace(str(path), path.name)
    else:
        upload.status = DocumentUpload.Status.DONE
        upload.result = {
            "added": result.added,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "removed": result.removed,
            "passages": len(drafts),
        }
    upload.finished_at = timezone.now()
    upload.save(update_fields=["status", "error", "result", "finished_at"])
    return upload
