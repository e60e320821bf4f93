"""What a worker does before its first inquiry: refuse to start when PII detection cannot catch
every type a policy names, record a changed policy set in the trail, and load the models once
per process."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from assistant.tracebacks import safe_traceback

logger = logging.getLogger(__name__)


def worker_start(**_: Any) -> None:
    """In the worker's main process, before the pool forks (so the loaded analyzer is shared)."""
    from compliance import pii
    from compliance.services import policies_record_changes

    try:
        check_pii_detection()
    except pii.PiiSelfTestError as exc:
        logger.critical("worker not started: %s", exc)
        # Celery logs an Exception raised by a signal receiver and starts the worker anyway;
        # SystemExit is not an Exception, so it stops the start-up.
        raise SystemExit(1) from exc
    # Policies are files: a worker starting on a changed set records the change in the trail.
    policies_record_changes()


def check_pii_detection() -> None:
    """``PiiSelfTestError`` unless PII detection catches every entity type a policy names."""
    from compliance import pii
    from compliance.policy import policies

    needed = sorted({t for p in policies().policies.values() for t in p.all_entities()})
    pii.self_test(needed)


def worker_process_start(**_: Any) -> None:
    """In each pool process, before the first inquiry arrives."""
    if settings.ASSISTANT_WARM_MODELS:
        models_warm()


def models_warm() -> None:
    """Load the PII analyzer, the embedding models and the generative models of all active
    domains, so the first inquiry in a fresh worker process does not pay for it."""
    from assistant.backends import BackendError, backend_for
    from assistant.inquiries.pipeline.decide import refusal_classifier
    from compliance import pii
    from domains.embeddings import embedder
    from domains.models import Domain

    started = time.perf_counter()
    pii.analyzer()
    refusal_classifier().warm()
    try:
        domains = list(Domain.objects.filter(is_active=True))
    except Exception as exc:  # an unmigrated database: the worker still starts
        logger.warning("model warm-up skipped: %s", safe_traceback(exc))
        return
    for domain in domains:
        embedder(domain.embedding_model)
        try:
            for profile in domain.model_backends:
                backend_for(profile)
        except BackendError as exc:
            logger.warning("domain %s: model not loaded: %s", domain.slug, exc)
    logger.info("models warm in %.1f s", time.perf_counter() - started)
