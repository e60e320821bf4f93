"""Step 4, retrieve: the domain's passages for the redacted question that apply to the
inquiry's jurisdiction. When none is relevant enough, the service says the sources do not
answer, and no model is called."""

from __future__ import annotations

import logging

from assistant.inquiries.claims import Progress, step_commit
from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.inquiries.pipeline.deliver import abstention, deliver
from assistant.models import Inquiry
from assistant.tracebacks import safe_traceback
from compliance.models import AuditEvent
from domains.selectors import passages_retrieve

logger = logging.getLogger(__name__)


def retrieve(run: Run) -> None:
    inquiry = run.inquiry
    with run.timed("retrieve"):
        try:
            run.passages, run.nearest = passages_retrieve(
                domain=run.domain, jurisdiction=inquiry.jurisdiction, query=retrieval_query(run)
            )
        except Exception as exc:
            logger.error("inquiry %s: retrieval failed: %s", inquiry.id, safe_traceback(exc))
            raise StepFailed(Inquiry.FailureReason.RETRIEVAL_FAILED) from exc
    step_commit(
        inquiry,
        AuditEvent.Type.INQUIRY_RETRIEVED,
        {
            "passage_ids": [p.source_id for p in run.passages],
            "scores": [p.score for p in run.passages],
            "index_revision": run.domain.index_revision,
            "ms": run.timings["retrieve_ms"],
        },
        progress=Progress.GENERATING,
    )
    if not run.passages:
        deliver(run, abstention(run, grounding=Inquiry.Grounding.NO_PASSAGES))


def retrieval_query(run: Run) -> str:
    # A follow-up ("and for a business associate?") is retrieved with the turn before it.
    return "\n".join([*run.history.questions[-1:], run.question])
