"""The Ed25519 key that signs audit checkpoints. It lives in a file outside the database
(``AUDIT_SIGNING_KEY_FILE``); in embedded mode it is created on first use."""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from compliance.audit_chain import key_id, public_keys_load


class SigningKeyError(Exception):
    pass


def key_create(path: Path) -> Ed25519PrivateKey:
    """Write a new private key to ``path`` (mode 0600); refuse to overwrite one."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: cannot load the audit signing key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: the audit signing key must be an Ed25519 key")
    return key


def signing_key() -> Ed25519PrivateKey:
    path = Path(settings.AUDIT_SIGNING_KEY_FILE)
    if not path.exists():
        if not settings.AUDIT_SIGNING_KEY_AUTOCREATE:
            raise SigningKeyError(f"{path}: the audit signing key file does not exist")
        with contextlib.suppress(FileExistsError):  # another process created it first
            key_create(path)
    return _load(path, path.stat().st_mtime)


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """The current key's public half and the retired keys still trusted for old checkpoints."""
    current = signing_key().public_key()
    keys = {key_id(current): current}
    trusted = Path(settings.AUDIT_TRUSTED_KEYS_FILE)
    if trusted.is_file():
        try:
            keys.update(public_keys_load(trusted.read_bytes()))
        except ValueError as exc:
            raise SigningKeyError(f"{trusted}: {exc}") from None
    return keys
