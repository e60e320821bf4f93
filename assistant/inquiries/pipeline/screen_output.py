"""Step 8, screen output: personal data in the verified sentences is redacted, and the answer
is delivered: the sentences, then the evidence they rest on quoted with its citation label
(or the evidence alone when no sentence survived), with the policy's notice and disclaimer."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from django.views.decorators.debug import sensitive_variables

from assistant.grounding.compose import delivered
from assistant.grounding.verify import Verification
from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.inquiries.pipeline.deliver import deliver
from assistant.models import Inquiry
from compliance import pii


@sensitive_variables()
def screen_output(run: Run) -> None:
    entities: Counter[str] = Counter()
    with run.timed("screen_output"):
        screened_sentences = []
        for sentence in run.verification.sentences:
            if sentence.kept:
                try:
                    screened = pii.screen_output(sentence.text, entities=run.summary["entities"])
                except pii.PiiDetectionError as exc:
                    raise StepFailed(
                        Inquiry.FailureReason.OUTPUT_SCREENING_FAILED, str(exc)
                    ) from exc
                entities.update(screened.counts)
                sentence = replace(sentence, text=screened.text)
            screened_sentences.append(sentence)
        delivery = delivered(Verification(screened_sentences), run.included)
    counts = dict(sorted(entities.items()))
    deliver(
        run,
        delivery,
        answer_entities=counts,
        screening_details={
            "entities": counts,
            "entity_total": sum(counts.values()),
            "citations": [q.passage.source_id for q in delivery.quotes],
            "grounding": delivery.grounding,
            "ms": run.timings["screen_output_ms"],
        },
    )
