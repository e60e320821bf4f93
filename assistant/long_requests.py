"""A per-user cap on the requests that stay open while they wait: event streams and ``?wait=``
polls. Under a threaded WSGI server each of them occupies a thread for up to minutes, and one
user holding a few dozen took every thread, so that health checks and logins timed out for
everyone. The ASGI server (``bin/up``) no longer lets them take the threads other requests
need, but each still costs a connection and a stream, so the cap stays. Over the cap the
request is answered at once with 429 and ``Retry-After``.

The count lives in the cache shared by all web processes (Redis in production). Its key expires
a minute after the longest wait, so the slots of a killed process come back on their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from rest_framework.exceptions import Throttled

RETRY_SECONDS = 5


def _key(user: AbstractBaseUser) -> str:
    return f"long-requests:{user.pk}"


def _expiry() -> int:
    return max(settings.INQUIRY_STREAM_SECONDS, settings.INQUIRY_MAX_WAIT_SECONDS) + 60


def slot_acquire(user: AbstractBaseUser) -> Callable[[], None]:
    """Take one of the user's slots and return the function that gives it back; ``Throttled``
    when all of them are taken."""
    key = _key(user)
    cache.add(key, 0, timeout=_expiry())
    try:
        held = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=_expiry())
        held = 1
    cache.touch(key, timeout=_expiry())
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            # Expired meanwhile: nothing left to give back.
            with contextlib.suppress(ValueError):
                cache.decr(key)

    limit = settings.LONG_REQUESTS_PER_USER
    if held > limit:
        release()
        raise Throttled(
            wait=RETRY_SECONDS,
            detail=f"You already have {limit} streams or waiting requests open; close one or "
            "poll without ?wait=.",
        )
    return release


class HeldStream:
    """``events``, giving the slot back when they end or when the server closes the response,
    whether the client read all of it, went away mid-stream or never read a byte."""

    def __init__(self, events: Iterator[str], release: Callable[[], None]) -> None:
        self.events, self.release = events, release

    def __iter__(self) -> HeldStream:
        return self

    def __next__(self) -> str:
        try:
            return next(self.events)
        except StopIteration:
            self.release()
            raise

    def close(self) -> None:
        # StreamingHttpResponse calls this when the server closes the response.
        try:
            close = getattr(self.events, "close", None)
            if close is not None:
                close()
        finally:
            self.release()


class HeldAsyncStream:
    """``HeldStream`` for an async iterator of events (an ASGI server). A client that goes away
    cancels the stream; the server then closes the response, which gives the slot back."""

    def __init__(self, events: AsyncIterator[str], release: Callable[[], None]) -> None:
        self.events, self.release = events, release

    async def __aiter__(self) -> AsyncIterator[str]:
        try:
            async for event in self.events:
                yield event
        finally:
            self.release()

    def close(self) -> None:
        self.release()
