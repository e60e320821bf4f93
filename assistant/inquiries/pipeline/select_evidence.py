"""Step 5, select evidence: the sentences and clauses of the retrieved passages that answer the
question, scored against it. When even the best is weak, the service abstains and says what it
searched; no model is called."""

from __future__ import annotations

from assistant.grounding.beyond_rules import beyond_rules
from assistant.grounding.coverage import missing_names
from assistant.grounding.evidence import EvidenceChoice, choose
from assistant.inquiries.claims import step_commit
from assistant.inquiries.pipeline.context import Run
from assistant.inquiries.pipeline.deliver import abstention, deliver
from assistant.inquiries.pipeline.retrieve import retrieval_query
from assistant.models import Inquiry
from compliance.models import AuditEvent
from domains.embeddings import embed_cached
from domains.mentions import corpus_mentions


def select_evidence(run: Run) -> None:
    model = run.domain.embedding_model
    question = retrieval_query(run)
    with run.timed("evidence"):
        run.missing = missing_names(question, corpus_mentions(run.domain))
        run.beyond = None if run.missing else beyond_rules(run.question)
        # Quoting the nearest rule would answer a question about one law with another, or
        # pass a rule off as the state of affairs or the proposal asked about.
        if run.missing:
            run.evidence = EvidenceChoice([], 0.0, 0, "not_in_sources")
        elif run.beyond:
            run.evidence = EvidenceChoice([], 0.0, 0, "beyond_rules")
        else:
            run.evidence = choose(
                question, run.passages, embed=lambda texts: embed_cached(texts, model=model)
            )
    step_commit(
        run.inquiry,
        AuditEvent.Type.INQUIRY_EVIDENCE_SELECTED,
        {
            "evidence": [
                {
                    "passage_id": e.passage.source_id,
                    "start": e.start,
                    "end": e.end,
                    "score": round(e.score, 4),
                }
                for e in run.evidence.units
            ],
            "units_considered": run.evidence.considered,
            "best_score": round(run.evidence.best_score, 4),
            "abstained": run.evidence.weak,
            "unanswered": run.evidence.unanswered,
            # How many names the sources lack, never which: they come from the question.
            "missing_names": len(run.missing),
            "ms": run.timings["evidence_ms"],
        },
    )
    if run.evidence.weak:
        deliver(run, abstention(run, grounding=Inquiry.Grounding.ABSTAINED))
