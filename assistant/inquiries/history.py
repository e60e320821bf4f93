"""What a follow-up knows of its conversation: the earlier turns, redacted, and the pseudonym
vault, so the same person keeps the same placeholder across turns."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from assistant.models import Inquiry
from compliance.crypto import ContentKey, DecryptionError
from compliance.pseudonyms import PseudonymVault

logger = logging.getLogger(__name__)

# How much of a conversation a follow-up sees: the last turns, each answer cut to a length.
HISTORY_TURNS = 2
HISTORY_ANSWER_CHARS = 800


@dataclass
class History:
    """Earlier turns of an inquiry's conversation, redacted, oldest first."""

    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    vault: PseudonymVault | None = None

    def turns(self) -> list[tuple[str, str]]:
        return list(zip(self.questions, self.answers, strict=True))


def conversation_history(inquiry: Inquiry) -> History:
    history = History()
    if inquiry.conversation_id is None:
        return history
    earlier = (
        Inquiry.objects.filter(
            conversation_id=inquiry.conversation_id, created_at__lt=inquiry.created_at
        )
        .exclude(content_key_wrapped="")
        .order_by("-created_at")[:10]
    )
    for turn in earlier:
        try:
            key = ContentKey.unwrap(turn.content_key_wrapped)
            if history.vault is None and turn.vault_ciphertext:
                history.vault = PseudonymVault.from_json(
                    json.loads(key.decrypt(turn.vault_ciphertext))
                )
            if turn.status == Inquiry.Status.ANSWERED and len(history.questions) < HISTORY_TURNS:
                answer = "\n\n".join(
                    part
                    for part in key.decrypt(turn.answer_ciphertext).split("\n\n")
                    if not part.startswith("Disclaimer (")
                )
                history.questions.insert(0, key.decrypt(turn.redacted_question_ciphertext))
                history.answers.insert(0, answer[:HISTORY_ANSWER_CHARS])
        except DecryptionError:
            # An unreadable earlier turn only costs the follow-up its context.
            logger.warning("inquiry %s: earlier turn %s is unreadable", inquiry.id, turn.id)
    return history
