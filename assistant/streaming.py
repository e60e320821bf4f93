"""Server-sent events for one inquiry: where it is in the queue, which pipeline step it is in,
the screened draft of its answer as it is generated, and finally the whole inquiry.

The stream reads the inquiry row, which the worker updates; it needs nothing besides the
database, so it works the same in embedded mode and in production, and a client that
reconnects simply gets the current state again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder

from assistant.models import Inquiry
from assistant.selectors import inquiry_content, inquiry_payload, queue_position

KEEPALIVE_SECONDS = 15.0


def sse(event: str, data: dict[str, Any], event_id: int) -> str:
    payload = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event}\ndata: {payload}\n\n"


def inquiry_events(
    inquiry: Inquiry,
    *,
    viewer: AbstractBaseUser,
    restore: bool,
    url: str,
    poll_seconds: float | None = None,
    max_seconds: float | None = None,
) -> Iterator[str]:
    """The events of ``inquiry`` (already authorized for ``viewer``) until it finishes:
    ``status`` when its state changes, ``draft`` when more of the answer is screened, then
    ``done`` with the inquiry as GET /inquiries/{id} returns it (or ``timeout``)."""
    poll = poll_seconds if poll_seconds is not None else settings.INQUIRY_STREAM_POLL_SECONDS
    limit = max_seconds if max_seconds is not None else settings.INQUIRY_STREAM_SECONDS
    started = last_sent = time.monotonic()
    event_id = 0
    last_state = last_draft = None
    while True:
        inquiry.refresh_from_db()
        event_id += 1
        if inquiry.is_finished:
            payload = inquiry_payload(inquiry, viewer=viewer, restore=restore)
            yield sse("done", {**payload, "url": url}, event_id)
            return
        state = {"status": inquiry.status, "progress": inquiry.progress}
        if inquiry.status == Inquiry.Status.QUEUED:
            state["ahead"] = queue_position(inquiry)
        if state != last_state:
            yield sse("status", state, event_id)
            last_state, last_sent = state, time.monotonic()
        if inquiry.draft_ciphertext and inquiry.draft_ciphertext != last_draft:
            draft = inquiry_content(inquiry, viewer=viewer, restore=restore)["draft"]
            yield sse("draft", {"text": draft}, event_id)
            last_draft, last_sent = inquiry.draft_ciphertext, time.monotonic()
        now = time.monotonic()
        if now - started > limit:
            yield sse("timeout", {"status": inquiry.status, "url": url}, event_id)
            return
        if now - last_sent > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = now
        time.sleep(poll)
