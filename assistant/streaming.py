"""Server-sent events for one inquiry: where it is in the queue, which pipeline step it is in,
the screened draft of its answer as it is generated, and finally the whole inquiry.

The stream reads the inquiry row, which the worker updates; it needs nothing besides the
database, so it works the same in embedded mode and in production, and a client that
reconnects simply gets the current state again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection

from assistant.models import Inquiry
from assistant.selectors import inquiry_content, inquiry_payload, queue_position

KEEPALIVE_SECONDS = 15.0


def sse(event: str, data: dict[str, Any], event_id: int) -> str:
    payload = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event}\ndata: {payload}\n\n"


class _EventSource:
    """What changed in ``inquiry`` since the last look, as events; ``finished`` once ``done``
    or ``timeout`` has been written. The sync and the async streams share it."""

    def __init__(self, inquiry: Inquiry, *, viewer, restore, url, poll_seconds, max_seconds):
        self.inquiry, self.viewer, self.restore, self.url = inquiry, viewer, restore, url
        self.poll = (
            poll_seconds if poll_seconds is not None else settings.INQUIRY_STREAM_POLL_SECONDS
        )
        self.limit = max_seconds if max_seconds is not None else settings.INQUIRY_STREAM_SECONDS
        self.started = self.last_sent = time.monotonic()
        self.event_id = 0
        self.last_state = self.last_draft = None
        self.finished = False

    def look(self) -> list[str]:
        inquiry = self.inquiry
        inquiry.refresh_from_db()
        self.event_id += 1
        if inquiry.is_finished:
            self.finished = True
            payload = inquiry_payload(inquiry, viewer=self.viewer, restore=self.restore)
            return [sse("done", {**payload, "url": self.url}, self.event_id)]
        events = []
        state = {"status": inquiry.status, "progress": inquiry.progress}
        if inquiry.status == Inquiry.Status.QUEUED:
            state["ahead"] = queue_position(inquiry)
        if state != self.last_state:
            events.append(sse("status", state, self.event_id))
            self.last_state, self.last_sent = state, time.monotonic()
        if inquiry.draft_ciphertext and inquiry.draft_ciphertext != self.last_draft:
            draft = inquiry_content(inquiry, viewer=self.viewer, restore=self.restore)["draft"]
            events.append(sse("draft", {"text": draft}, self.event_id))
            self.last_draft, self.last_sent = inquiry.draft_ciphertext, time.monotonic()
        now = time.monotonic()
        if now - self.started > self.limit:
            self.finished = True
            events.append(
                sse("timeout", {"status": inquiry.status, "url": self.url}, self.event_id)
            )
        elif now - self.last_sent > KEEPALIVE_SECONDS:
            events.append(": keep-alive\n\n")
            self.last_sent = now
        return events


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
    source = _EventSource(
        inquiry,
        viewer=viewer,
        restore=restore,
        url=url,
        poll_seconds=poll_seconds,
        max_seconds=max_seconds,
    )
    while True:
        yield from source.look()
        if source.finished:
            return
        time.sleep(source.poll)


async def inquiry_events_async(
    inquiry: Inquiry,
    *,
    viewer: AbstractBaseUser,
    restore: bool,
    url: str,
    poll_seconds: float | None = None,
    max_seconds: float | None = None,
) -> AsyncIterator[str]:
    """``inquiry_events`` for an ASGI server: between looks the stream waits on the event
    loop, not in a thread, so open streams take no thread from other requests. The looks run
    in the event loop's small thread pool, whose threads keep their database connections: in
    the request's own thread, each open stream would hold a connection of its own, and fifty
    of them exhausted PostgreSQL's default of 100."""
    source = _EventSource(
        inquiry,
        viewer=viewer,
        restore=restore,
        url=url,
        poll_seconds=poll_seconds,
        max_seconds=max_seconds,
    )
    look = sync_to_async(_look_in_pool, thread_sensitive=False)
    while True:
        for event in await look(source):
            yield event
        if source.finished:
            return
        await asyncio.sleep(source.poll)


def _look_in_pool(source: _EventSource) -> list[str]:
    try:
        return source.look()
    except DatabaseError:
        # A pool thread keeps its connection from look to look: one the server dropped is
        # closed here, and the next look in this thread opens a new one.
        connection.close()
        raise
