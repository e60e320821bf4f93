"""The model profiles a benchmark question runs with, for ``answer_benchmark
--compare-profiles``: the domain's generative model as its definition names it (``base``), its
active fine-tuned version (``tuned``) or a given version (``vN``)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from assistant.benchmarking import fulltexts
from domains.models import Domain, GenerativeProfile
from domains.services import TUNED_FILES


def generative_profiles(domain: Domain, name: str) -> list[dict]:
    base = [
        {k: v for k, v in p.items() if k != "base_model"}
        | {"model": p.get("base_model", p.get("model"))}
        for p in domain.model_backends
    ]
    if name == "base":
        return base
    if name == "tuned":
        if not any("base_model" in p for p in domain.model_backends):
            raise CommandError(
                f"domain {domain.slug!r} has no fine-tuned generative model; run slm_finetune"
            )
        return list(domain.model_backends)
    # The full-text domain runs the models of the domain it stands in for.
    owner = fulltexts.LIKE if domain.slug == fulltexts.SLUG else domain.slug
    version = GenerativeProfile.objects.filter(
        domain__slug=owner, version=int(name.removeprefix("v"))
    ).first()
    if version is None:
        raise CommandError(f"domain {owner!r} has no generative profile {name}")
    return [
        p
        | {"base_model": p["model"], "model": str(Path(version.model) / TUNED_FILES[p["backend"]])}
        if p.get("backend") in TUNED_FILES and p["model"] == version.base_model
        else p
        for p in base
    ]
