from __future__ import annotations

import time
import uuid

from django.contrib.auth.models import AbstractBaseUser

from assistant.models import Inquiry
from assistant.roles import roles_of
from compliance.crypto import decrypt_text
from domains.models import Domain


def domain_list(*, user: AbstractBaseUser) -> list[Domain]:
    """Active domains the user's roles grant."""
    roles = roles_of(user)
    return [d for d in Domain.objects.filter(is_active=True) if roles & set(d.roles)]


def inquiry_get(*, user: AbstractBaseUser, inquiry_id: uuid.UUID) -> Inquiry | None:
    """The user's own inquiry, or None (another user's inquiry is indistinguishable from a
    missing one)."""
    return Inquiry.objects.select_related("domain").filter(pk=inquiry_id, user=user).first()


def inquiry_wait(
    *, user: AbstractBaseUser, inquiry_id: uuid.UUID, seconds: float
) -> Inquiry | None:
    """Like ``inquiry_get``, but waits up to ``seconds`` for the inquiry to finish."""
    deadline = time.monotonic() + seconds
    while True:
        inquiry = inquiry_get(user=user, inquiry_id=inquiry_id)
        if inquiry is None or inquiry.is_finished or time.monotonic() >= deadline:
            return inquiry
        time.sleep(0.5)


def inquiry_content(inquiry: Inquiry) -> dict[str, str]:
    """The redacted question and the screened answer, decrypted for display to the requester."""
    return {
        "redacted_question": decrypt_text(inquiry.redacted_question_ciphertext)
        if inquiry.redacted_question_ciphertext
        else "",
        "answer": decrypt_text(inquiry.answer_ciphertext) if inquiry.answer_ciphertext else "",
    }
