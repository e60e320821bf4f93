from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from compliance import crypto


def test_encrypted_text_round_trips_and_is_not_plaintext():
    token = crypto.encrypt_text("My patient John Smith")
    assert "John" not in token
    assert crypto.decrypt_text(token) == "My patient John Smith"


def test_tampered_ciphertext_is_refused():
    token = crypto.encrypt_text("confidential")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_text(tampered)


def test_rotated_keys_still_open_old_content(settings):
    old_token = crypto.encrypt_text("before rotation")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    assert crypto.decrypt_text(old_token) == "before rotation"
    new_token = crypto.encrypt_text("after rotation")
    assert Fernet(new_key.encode()).decrypt(new_token.encode()) == b"after rotation"


def test_content_is_unreadable_once_its_key_is_destroyed(settings):
    token = crypto.encrypt_text("erase me")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_text(token)
