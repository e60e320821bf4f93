"""The answer while it is written: screened for personal data, stored encrypted as the
inquiry's draft, which the event stream sends to the requester."""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError
from django.views.decorators.debug import sensitive_variables

from assistant.inquiries.claims import lease_until
from assistant.models import Inquiry
from assistant.tracebacks import safe_traceback
from compliance import pii
from compliance.crypto import ContentKey

logger = logging.getLogger(__name__)

# Each word is published only once this many words follow it, so detection sees it in context.
DRAFT_HOLDBACK_WORDS = 3


class DraftPublisher:
    """Receives the answer while it is generated. Every ``interval`` seconds it screens the
    text so far for personal data and stores the screened part before the last
    ``DRAFT_HOLDBACK_WORDS`` words, encrypted, as the inquiry's draft. Unscreened text is never
    stored or sent. A screening failure is kept, and fails the inquiry once generation ends
    (fail closed). ``stored`` holds the screened drafts stored so far, in order."""

    def __init__(
        self, inquiry: Inquiry, key: ContentKey, *, entities: list[str], interval: float
    ) -> None:
        self.inquiry = inquiry
        self.key = key
        self.entities = entities
        self.interval = interval
        self.published = 0
        self.last = time.monotonic()
        self.screening_error: Exception | None = None
        self.stored: list[str] = []

    @sensitive_variables("text", "screened")
    def __call__(self, text: str) -> None:
        if self.screening_error is not None:
            return
        if time.monotonic() - self.last < self.interval:
            return
        self.last = time.monotonic()
        try:
            screened, covered = pii.screen_output_prefix(
                text, holdback_words=DRAFT_HOLDBACK_WORDS, entities=self.entities
            )
        except pii.PiiDetectionError as exc:
            self.screening_error = exc
            return
        if covered <= self.published:
            return
        self.published = covered
        try:
            Inquiry.objects.filter(
                pk=self.inquiry.pk, status=Inquiry.Status.RUNNING, attempts=self.inquiry.attempts
            ).update(
                draft_ciphertext=self.key.encrypt(screened.text), lease_expires_at=lease_until()
            )
        except DatabaseError as exc:
            # The draft is a preview; the answer is stored by the pipeline's own steps.
            logger.warning("inquiry %s: draft not stored: %s", self.inquiry.id, safe_traceback(exc))
            return
        self.stored.append(screened.text)
