from __future__ import annotations

import uuid

from celery import shared_task

from assistant.celery import redeliverable_task


@redeliverable_task(max_retries=3)
def inquiry_run(inquiry_id: str) -> None:
    from assistant.services import inquiry_run

    inquiry_run(inquiry_id=uuid.UUID(inquiry_id))


@shared_task(ignore_result=True)
def inquiries_requeue_stale() -> int:
    from assistant.services import inquiries_requeue_stale

    return inquiries_requeue_stale()


@shared_task(ignore_result=True)
def inquiries_purge_expired() -> int:
    from assistant.services import inquiries_purge_expired

    return inquiries_purge_expired()
