"""The Celery tasks: each takes ids, calls one service and nothing else."""

from __future__ import annotations

import uuid

from celery import shared_task

from assistant.celery import TransientError, redeliverable_task


@redeliverable_task(max_retries=3)
def inquiry_run(inquiry_id: str) -> None:
    from assistant.inquiries.pipeline.run import RetryLater, inquiry_run

    try:
        inquiry_run(inquiry_id=uuid.UUID(inquiry_id))
    except RetryLater as exc:
        raise TransientError(str(exc)) from None


@shared_task(ignore_result=True)
def inquiries_requeue_stale() -> int:
    from assistant.inquiries import inquiries_requeue_stale

    return inquiries_requeue_stale()


@shared_task(ignore_result=True)
def inquiries_purge_expired() -> int:
    from assistant.inquiries import inquiries_purge_expired

    return inquiries_purge_expired()
