"""The benchmark's full-text domain: the HIPAA regulations (45 CFR Parts 160, 162, 164, tagged
US) and the GDPR (tagged EU) from the shared data, ingested into an inactive domain that stands
in for the healthcare domain: its prompt, examples, models, retrieval settings and, through
``PolicySet.with_stand_in``, its policy terms. Never offered to users. Its embedding model may
be fine-tuned on training questions (``embeddings_finetune --domain hipaa-gdpr``), as a
hospital ingesting these texts would do."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from domains.ingestion import IngestionError, PassageDraft, parse_file
from domains.models import Domain
from domains.services import corpus_ingest, embedding_model_in_use

SLUG = "hipaa-gdpr"
LIKE = "healthcare"
# (path under the shared data folder, jurisdictions, citation prefix)
SOURCES = [("hipaa", ["US"], "45 CFR"), ("gdpr/gdpr.html", ["EU"], "")]
JURISDICTIONS = ["US", "EU", "EU-DE"]


def fulltext_domain(shared_data: Path | None, *, progress: bool) -> Domain:
    """The full-text domain, ingested from ``shared_data`` (quick when unchanged)."""
    if shared_data is None or not shared_data.is_dir():
        raise CommandError(
            f"questions in domain {SLUG!r} need --shared-data, the folder with hipaa/ and gdpr/ "
            f"(given: {shared_data})"
        )
    like = Domain.objects.filter(slug=LIKE).first()
    if like is None:
        raise CommandError(f"domain {LIKE!r} is missing; run: python manage.py domains_sync")
    domain, _ = Domain.objects.get_or_create(
        slug=SLUG,
        defaults={"name": "HIPAA and GDPR (full texts, benchmark)", "is_active": False},
    )
    for field in ("system_prompt", "answer_examples", "model_backends", "retrieval", "roles"):
        setattr(domain, field, getattr(like, field))
    # A version of that model fine-tuned on this domain's training questions stays in use.
    domain.embedding_model = embedding_model_in_use(domain, like.embedding_model)
    domain.jurisdictions = JURISDICTIONS
    domain.is_active = False
    domain.save()
    corpus_ingest(domain=domain, drafts=_drafts(shared_data), actor=None, progress=progress)
    domain.refresh_from_db()
    return domain


def _drafts(shared_data: Path) -> list[PassageDraft]:
    drafts: list[PassageDraft] = []
    for relative, jurisdictions, prefix in SOURCES:
        path = shared_data / relative
        files = sorted(path.glob("*.md")) if path.is_dir() else [path]
        if not files or not all(f.is_file() for f in files):
            raise CommandError(f"{path}: not found in the shared data")
        for file in files:
            try:
                drafts += parse_file(file, jurisdictions=jurisdictions, citation_prefix=prefix)
            except IngestionError as exc:
                raise CommandError(str(exc)) from None
    return drafts
