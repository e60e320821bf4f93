"""The Celery application and the one decorator for tasks that may be redelivered."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery, shared_task
from celery.signals import worker_init, worker_process_init

from assistant import worker_boot

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assistant.settings")

app = Celery("assistant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TransientError(Exception):
    """A failure worth retrying (a busy backend, a lost connection). Carries no content."""


def redeliverable_task(*, max_retries: int = 3) -> Callable[[Callable[..., Any]], Any]:
    """A task that is acknowledged only after it ran, so a worker killed mid-task leaves the
    message to be delivered again. The service it calls must therefore be idempotent (it claims
    its work with a conditional update). Transient failures are retried with exponential backoff.
    """

    def decorate(func: Callable[..., Any]) -> Any:
        return shared_task(
            acks_late=True,
            reject_on_worker_lost=True,
            autoretry_for=(TransientError,),
            retry_backoff=2,
            retry_backoff_max=60,
            retry_jitter=True,
            max_retries=max_retries,
        )(func)

    return decorate


# What a worker does before its first inquiry lives in assistant.worker_boot.
worker_init.connect(worker_boot.worker_start)
worker_process_init.connect(worker_boot.worker_process_start)
