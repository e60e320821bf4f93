from __future__ import annotations

from assistant.celery import redeliverable_task


@redeliverable_task(max_retries=2)
def document_ingest(upload_id: int) -> None:
    from domains.services import upload_ingest

    upload_ingest(upload_id=upload_id)
