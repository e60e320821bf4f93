"""Step 1, route: the jurisdiction's policy, evaluated again on the worker so that a policy
changed since submission applies. The domain must still be offered, and one of its model
backends must run in a region the policy allows; otherwise the inquiry ends refused."""

from __future__ import annotations

from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.inquiries.pipeline.decide import decision_commit
from assistant.models import Inquiry
from assistant.selectors import domain_route
from compliance.decisions import decision_record, policy_summary
from compliance.policy import policies


def route(run: Run) -> None:
    jurisdiction = run.inquiry.jurisdiction
    try:
        policy = policies().get(jurisdiction)
        decision = domain_route(policy=policy, domain=run.domain) if policy else None
    except Exception as exc:
        raise StepFailed(Inquiry.FailureReason.POLICY_UNAVAILABLE, type(exc).__name__) from exc
    if policy is None or decision is None:
        raise StepFailed(Inquiry.FailureReason.POLICY_UNAVAILABLE, f"no policy for {jurisdiction}")
    run.policy, run.route = policy, decision
    run.summary = policy_summary(policy, run.domain.slug)
    if not decision.allowed:
        decision_commit(run, decision_record(policy, run.domain.slug, route=decision))
