"""Step 6, generate: the routed model backend writes a short answer from the numbered evidence
alone, guided by the domain's worked examples. While it writes, the draft streams to the
requester screened for personal data and labelled as a draft; only what verification keeps of
it is delivered."""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from assistant.backends import backend_for
from assistant.grounding.prompt import grounded_messages
from assistant.grounding.verify import DraftWatch
from assistant.inquiries.claims import Progress, step_commit
from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.inquiries.pipeline.drafts import DraftPublisher
from assistant.models import Inquiry
from compliance.models import AuditEvent

GENERAL_ONLY_INSTRUCTION = (
    "The question concerns a particular person's situation. Explain only what the rules say in "
    "general. Do not say what this person should do."
)


def system_prompt_for(run: Run) -> str:
    """The domain's instructions, narrowed to general information when a refusal rule says so."""
    if run.content.action == "general_only":
        return f"{run.domain.system_prompt}\n\n{GENERAL_ONLY_INSTRUCTION}"
    return run.domain.system_prompt


@sensitive_variables()
def generate(run: Run) -> None:
    profile = run.route.backend
    with run.timed("generate"):
        backend = backend_for(profile)
        system_prompt = system_prompt_for(run)
        run.messages, run.included = grounded_messages(
            system_prompt=system_prompt,
            examples=run.domain.answer_examples,
            evidence=run.evidence.units,
            question=run.question,
            earlier_question=(run.history.questions or [""])[-1],
            count_tokens=backend.count_tokens,
            max_input_tokens=profile["max_input_tokens"],
        )
        run.drafts = DraftPublisher(
            run.inquiry, run.key, entities=run.summary["entities"], interval=run.draft_interval
        )
        run.generation = backend.generate(
            run.messages,
            max_new_tokens=profile["max_new_tokens"],
            on_text=run.drafts,
            stop=DraftWatch(run.included),
            # The instructions and worked examples: everything but the question's own message.
            shared_prefix=len(run.messages) - 1,
        )
        if run.drafts.screening_error is not None:
            raise StepFailed(
                Inquiry.FailureReason.OUTPUT_SCREENING_FAILED, str(run.drafts.screening_error)
            )
    generation = run.generation
    step_commit(
        run.inquiry,
        AuditEvent.Type.INQUIRY_GENERATED,
        {
            "model_id": generation.model_id,
            "model_version": generation.model_version,
            "region": profile["region"],
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
            "evidence_in_prompt": len(run.included),
            "ms": run.timings["generate_ms"],
        },
        model_id=generation.model_id,
        model_version=generation.model_version,
        progress=Progress.SCREENING_ANSWER,
    )
