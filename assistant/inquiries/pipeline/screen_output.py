"""Step 6, screen output: personal data the model wrote is redacted, the answer's citations are
checked against the passages it was given, and the answer is stored with the policy's notice
and disclaimer."""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables

from assistant.inquiries.claims import inquiry_finish
from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.models import Inquiry
from assistant.prompting import compose_answer, resolve_citations
from compliance import pii


@sensitive_variables()
def screen_output(run: Run) -> None:
    with run.timed("screen_output"):
        try:
            screened = pii.screen_output(run.generation.text, entities=run.summary["entities"])
        except pii.PiiDetectionError as exc:
            raise StepFailed(Inquiry.FailureReason.OUTPUT_SCREENING_FAILED, str(exc)) from exc
        cited = resolve_citations(screened.text, run.included)
    inquiry_finish(
        run.inquiry,
        run.key,
        answer=compose_answer(run.notice, cited.text, run.summary["disclaimer"]),
        citations=[c.as_json() for c in cited.citations],
        grounding=cited.grounding,
        answer_entities=screened.counts,
        timings=run.timings,
        unverified_references=cited.unverified_references,
        screening_details={
            "entities": screened.counts,
            "entity_total": len(screened.entities),
            "citations": [c.passage.source_id for c in cited.citations],
            "invalid_citation_markers": cited.invalid_markers,
            "unverified_references": cited.unverified_references,
            "grounding": cited.grounding,
            "ms": run.timings["screen_output_ms"],
        },
    )
    run.finished = True
