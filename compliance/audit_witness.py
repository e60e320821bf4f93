"""The checkpoint witness: signed checkpoints kept outside the database.

The database cannot be trusted to say which checkpoints exist: whoever can rewrite the events
can delete the checkpoint rows too, and a verifier that reads only the database then finds
nothing to object to. So every checkpoint is also appended to a file that the database's users
cannot reach (``AUDIT_WITNESS_FILE``: another volume, an append-only mount, a log shipper's
input), and ``audit_verify --checkpoints FILE`` holds the database to it, as CloudTrail's
digest files and the signed tree heads of RFC 6962 hold a log to what was published.

A witness line is one checkpoint as canonical JSON. Lines of the ``compliance.audit.checkpoints``
log ("... audit checkpoint {...}") are read too, so a collected log serves as the witness.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings

CHECKPOINT_FIELDS = ("number", "seq", "hash", "signed_at", "key_id", "signature")


class WitnessError(Exception):
    """The witness cannot be read or written; the message names the file (and line)."""


def witness_append(path: Path, line: str) -> None:
    """Append one checkpoint and make it durable before anyone relies on it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise WitnessError(f"{path}: cannot append the checkpoint: {exc.strerror}") from None


def _checkpoint_in(line: str, path: Path, number: int) -> dict[str, Any]:
    start = line.find("{")
    if start < 0:
        raise WitnessError(f"{path}:{number}: no checkpoint on this line")
    try:
        checkpoint = json.loads(line[start:])
    except ValueError as exc:
        raise WitnessError(f"{path}:{number}: not a checkpoint: {exc}") from None
    if not isinstance(checkpoint, dict) or any(f not in checkpoint for f in CHECKPOINT_FIELDS):
        raise WitnessError(
            f"{path}:{number}: not a checkpoint: it needs {', '.join(CHECKPOINT_FIELDS)}"
        )
    return checkpoint


def witness_read(path: Path) -> list[dict[str, Any]]:
    """Every checkpoint in the witness, in file order; the same checkpoint twice counts once."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WitnessError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessError(f"{path}: cannot read it: {exc}") from None
    seen: dict[tuple[Any, Any], dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            checkpoint = _checkpoint_in(line, path, number)
            seen.setdefault((checkpoint["number"], checkpoint["signature"]), checkpoint)
    return list(seen.values())


def configured_witness() -> list[dict[str, Any]]:
    """The checkpoints in ``AUDIT_WITNESS_FILE``; none when it is unset or not written yet."""
    if not settings.AUDIT_WITNESS_FILE:
        return []
    path = Path(settings.AUDIT_WITNESS_FILE)
    if not path.exists():
        return []  # nothing has been signed since the witness was configured
    return witness_read(path)
