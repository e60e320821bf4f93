"""Step 7, verify: each sentence of the draft must rest on one piece of evidence and agree with
it (numbers, durations, amounts, rule references, must / must not / may / need not, content);
a sentence that does not is dropped. The audit event records how many were dropped and why,
never their text."""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from assistant.grounding.verify import verify as verify_draft
from assistant.inquiries.claims import step_commit
from assistant.inquiries.pipeline.context import Run
from compliance.models import AuditEvent


@sensitive_variables()
def verify(run: Run) -> None:
    with run.timed("verify"):
        run.verification = verify_draft(run.generation.text, run.included)
    step_commit(
        run.inquiry,
        AuditEvent.Type.INQUIRY_VERIFIED,
        {**run.verification.summary(), "ms": run.timings["verify_ms"]},
    )
