"""The Celery application and the one decorator for tasks that may be redelivered."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery, shared_task
from celery.signals import worker_init, worker_process_init

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


@worker_init.connect
def check_pii_detection(**_: Any) -> None:
    """Refuse to start a worker whose PII detection cannot catch every entity type a policy
    names. Runs in the main process, before the pool forks, so the loaded analyzer is shared."""
    from compliance import pii
    from compliance.policy import policies

    needed = sorted({t for p in policies().policies.values() for t in p.all_entities()})
    pii.self_test(needed)


@worker_init.connect
def record_policy_changes(**_: Any) -> None:
    """Policies are files: a worker starting on a changed set records the change in the trail."""
    from compliance.services import policies_record_changes

    policies_record_changes()


@worker_process_init.connect
def warm_models(**_: Any) -> None:
    """Load the models once per worker process, before the first inquiry arrives."""
    from django.conf import settings

    if settings.ASSISTANT_WARM_MODELS:
        from assistant.services import models_warm

        models_warm()
