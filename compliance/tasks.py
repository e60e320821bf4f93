from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def audit_checkpoint() -> int | None:
    from compliance.services import audit_checkpoint_create

    checkpoint = audit_checkpoint_create()
    return checkpoint.number if checkpoint else None


@shared_task(ignore_result=True)
def audit_verify() -> bool:
    from compliance.services import audit_verify

    report = audit_verify()
    if not report.ok:
        logger.error("audit trail verification failed: %s", report.summary())
    return report.ok
