"""Step 3, decide: the policy's refusal rules applied to the redacted question. The question is
answered, answered only in general terms (with the rule's notice), or refused. Every rule
evaluated and why goes into the inquiry's decision record and the audit event."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from assistant.inquiries.claims import Progress, inquiry_finish, step_commit
from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.models import Inquiry
from compliance.decisions import decide_content, decision_record
from compliance.models import AuditEvent
from compliance.policy import policies
from compliance.refusals import RefusalClassifier
from domains.embeddings import DEFAULT_EMBEDDING_MODEL, embed

_classifier_lock = threading.Lock()
_classifiers: dict[int, RefusalClassifier] = {}


def refusal_classifier() -> RefusalClassifier:
    """One classifier per process and policy set; it trains on first use (under a second)."""
    categories = policies().categories
    with _classifier_lock:
        if id(categories) not in _classifiers:
            _classifiers[id(categories)] = RefusalClassifier(
                categories, lambda texts: embed(texts, model=DEFAULT_EMBEDDING_MODEL)
            )
        return _classifiers[id(categories)]


def decide(run: Run) -> None:
    policy, slug = run.policy, run.domain.slug
    with run.timed("policy"):
        try:
            categories = [rule.category for rule in policy.refusals_for(slug)]
            classifications = refusal_classifier().classify(run.screening.text, categories)
            run.content = decide_content(policy, domain=slug, classifications=classifications)
        except Exception as exc:
            raise StepFailed(Inquiry.FailureReason.POLICY_UNAVAILABLE, type(exc).__name__) from exc
    decision_commit(
        run,
        decision_record(policy, slug, route=run.route, content=run.content),
        ms=run.timings["policy_ms"],
        retain_until=run.inquiry.created_at + timedelta(days=policy.retention_days),
        progress=Progress.RETRIEVING,
    )


def decision_commit(
    run: Run, record: dict[str, Any], *, ms: int | None = None, **fields: Any
) -> None:
    """Store the decision record with its audit event; a refusal ends the inquiry with the
    refusal's text as its answer."""
    policy = run.policy
    details: dict[str, Any] = {
        "policy_id": policy.jurisdiction,
        "policy_version": policy.version,
        "action": record["action"],
        "rules": record["rules"],
    }
    if ms is not None:
        details["ms"] = ms
    step_commit(
        run.inquiry,
        AuditEvent.Type.INQUIRY_POLICY_DECIDED,
        details,
        policy_id=policy.jurisdiction,
        policy_version=policy.version,
        policy_decision=record,
        refusal_category=record["refusal"]["category"] if record["refusal"] else "",
        **fields,
    )
    if record["action"] == "refuse":
        inquiry_finish(
            run.inquiry,
            run.key,
            status=Inquiry.Status.REFUSED,
            answer=record["refusal"]["text"],
            timings=run.timings,
        )
        run.finished = True
