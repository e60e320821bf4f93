"""Questions, document ingestion and scheduled upkeep go to separate queues, so an upload or a
backlog of questions never delays an audit checkpoint."""

from __future__ import annotations

import pytest
from celery.app.routes import Router, prepare
from django.conf import settings

from assistant.celery import app as celery_app
from tests.conftest import SERVICE_TASK_ROUTES


def queue_of(task: str) -> str | None:
    """The queue the service routes ``task`` to; None for its default queue (``inquiries``)."""
    router = Router(
        prepare(SERVICE_TASK_ROUTES), celery_app.amqp.queues, create_missing=True, app=celery_app
    )
    name = router.route({}, task)["queue"].name
    # Unrouted tasks go to the default queue, which the tests point at a queue of their own.
    return None if name == celery_app.conf.task_default_queue else name


def test_the_service_routes_are_the_settings():
    assert SERVICE_TASK_ROUTES == settings.CELERY_TASK_ROUTES


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("assistant.tasks.inquiry_run", None),
        ("domains.tasks.document_ingest", "documents"),
        ("compliance.tasks.audit_checkpoint", "maintenance"),
        ("compliance.tasks.audit_verify", "maintenance"),
        ("assistant.tasks.inquiries_requeue_stale", "maintenance"),
        ("assistant.tasks.inquiries_purge_expired", "maintenance"),
    ],
)
def test_each_kind_of_work_has_its_queue(task, queue):
    assert queue_of(task) == queue


def test_every_scheduled_task_is_upkeep_not_a_question():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert queue_of(entry["task"]) == settings.CELERY_MAINTENANCE_QUEUE
