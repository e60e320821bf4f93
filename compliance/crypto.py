"""Encryption at rest for inquiry content.

Fernet (AES-128-CBC with HMAC-SHA256) is authenticated: a tampered ciphertext fails to decrypt
instead of yielding altered text. ``MultiFernet`` encrypts with the first configured key and
decrypts with any of them, which is how keys are rotated: prepend a new key, re-encrypt, then drop
the old one.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """Ciphertext that no configured key opens (wrong key, or tampered data)."""


@cache
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def keyring() -> MultiFernet:
    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(plaintext: str) -> str:
    return keyring().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return keyring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionError(
            "stored content cannot be decrypted with the configured keys"
        ) from exc
