"""Encryption at rest for inquiry content.

Fernet (AES-128-CBC with HMAC-SHA256) is authenticated: a tampered ciphertext fails to decrypt
instead of yielding altered text. The configured master keys (``FIELD_ENCRYPTION_KEYS``) form a
``MultiFernet``: it encrypts with the first key and decrypts with any, which is how keys rotate:
prepend a new key, run ``rotate_encryption_keys``, then drop the old one. Content itself is
encrypted with a per-inquiry ``ContentKey`` that the master keys wrap.
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


class ContentKey:
    """A random key per inquiry (envelope encryption). Content is encrypted with it; the key is
    stored only wrapped by the configured master keys. Destroying the wrapped key makes the
    content unreadable everywhere it was copied, backups included; rotating the master keys only
    re-wraps these small keys, never the content."""

    def __init__(self, key: bytes, wrapped: str) -> None:
        self._fernet = Fernet(key)
        self.wrapped = wrapped

    @classmethod
    def generate(cls) -> ContentKey:
        key = Fernet.generate_key()
        return cls(key, encrypt_text(key.decode("ascii")))

    @classmethod
    def unwrap(cls, wrapped: str) -> ContentKey:
        if not wrapped:
            raise DecryptionError("the content key has been destroyed")
        return cls(decrypt_text(wrapped).encode("ascii"), wrapped)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise DecryptionError("stored content does not match its key (tampered?)") from exc


def rewrap(wrapped: str) -> str:
    """The same wrapped value, re-encrypted with the newest master key."""
    try:
        return keyring().rotate(wrapped.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError("a wrapped key cannot be opened with the configured keys") from exc
