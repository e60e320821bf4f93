"""Step 2, screen input: personal data in the question, of the types the policy names, is
replaced by typed placeholders (``<PERSON_1>``), the originals kept in the encrypted vault.
Nothing after this step sees the question as asked."""

from __future__ import annotations

import json

from django.views.decorators.debug import sensitive_variables

from assistant.inquiries.claims import Progress, step_commit
from assistant.inquiries.history import conversation_history
from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.models import Inquiry
from compliance import pii
from compliance.crypto import DecryptionError
from compliance.models import AuditEvent

Reason = Inquiry.FailureReason


@sensitive_variables()
def screen_input(run: Run) -> None:
    inquiry, key = run.inquiry, run.key
    try:
        question = key.decrypt(inquiry.question_ciphertext)
    except DecryptionError as exc:
        raise StepFailed(Reason.CONTENT_UNREADABLE) from exc
    entities = run.summary["entities"]
    with run.timed("screen_input"):
        run.history = conversation_history(inquiry)
        # A follow-up keeps the placeholders of earlier turns: the same value gets the same one.
        vault = run.history.vault or pii.PseudonymVault()
        try:
            run.screening = pii.screen_input(question, vault, entities=entities)
        except pii.PiiDetectionError as exc:
            raise StepFailed(Reason.PII_DETECTION_FAILED, str(exc)) from exc
    step_commit(
        inquiry,
        AuditEvent.Type.INQUIRY_SCREENED,
        {
            "entities": run.screening.counts,
            "entity_total": len(run.screening.entities),
            "entity_set": entities,
            "policy_version": run.policy.version,
            "ms": run.timings["screen_input_ms"],
        },
        redacted_question_ciphertext=key.encrypt(run.screening.text),
        vault_ciphertext=key.encrypt(json.dumps(vault.to_json())),
        question_entities=run.screening.counts,
        progress=Progress.CHECKING_POLICY,
    )
