"""Sending an inquiry's id to the workers. Only the id travels: the broker never holds content."""

from __future__ import annotations

import uuid


def enqueue(inquiry_id: uuid.UUID, *, countdown: float | None = None) -> None:
    from assistant.tasks import inquiry_run as inquiry_run_task

    inquiry_run_task.apply_async(args=[str(inquiry_id)], countdown=countdown)
