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


def test_a_content_key_round_trips_and_refuses_tampering():
    key = crypto.ContentKey.generate()
    token = key.encrypt("My patient John Smith")
    assert "John" not in token and "John" not in key.wrapped
    assert crypto.ContentKey.unwrap(key.wrapped).decrypt(token) == "My patient John Smith"
    other = crypto.ContentKey.generate()
    with pytest.raises(crypto.DecryptionError):
        other.decrypt(token)


def test_a_destroyed_content_key_cannot_be_unwrapped():
    with pytest.raises(crypto.DecryptionError, match="destroyed"):
        crypto.ContentKey.unwrap("")


@pytest.mark.django_db
def test_rotation_rewraps_content_keys_so_the_old_master_key_can_go(
    settings, catalog_domains, clinician, queued_ids
):
    from django.core.management import call_command

    from assistant.inquiries import inquiry_submit
    from assistant.inquiries.pipeline.run import inquiry_run
    from assistant.selectors import inquiry_content
    from compliance.models import AuditEvent

    inquiry = inquiry_submit(
        user=clinician,
        domain="healthcare",
        jurisdiction="US",
        question="Who is John Smith? Find the home address of John Smith.",
    )
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    before = inquiry_content(inquiry, viewer=clinician)
    ciphertexts = (inquiry.question_ciphertext, inquiry.answer_ciphertext)

    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    call_command("rotate_encryption_keys", verbosity=0)
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key is gone

    inquiry.refresh_from_db()
    assert (inquiry.question_ciphertext, inquiry.answer_ciphertext) == ciphertexts
    assert inquiry_content(inquiry, viewer=clinician) == before
    event = AuditEvent.objects.get(event_type="keys.rotated")
    assert event.details == {"rewrapped": 1, "unreadable": 0}
