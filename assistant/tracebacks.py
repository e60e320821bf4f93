"""Exceptions in logs without their messages, which may quote content."""

from __future__ import annotations

import traceback


def safe_traceback(exc: BaseException) -> str:
    """Where an exception came from, without its message (which may quote content)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames[-6:])
    )
    return f"{type(exc).__name__} at {where}"
