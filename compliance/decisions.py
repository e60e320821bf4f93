"""Policy decisions for one request. Pure: a policy and facts in, a decision with reasons out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compliance.policy import Policy, RefusalRule
from compliance.refusals import Classification


@dataclass(frozen=True)
class RouteDecision:
    """Whether the domain may be used in the jurisdiction, and which model backend may run it."""

    allowed: bool
    reason: str  # "routed", "domain_not_offered" or "no_backend_in_allowed_region"
    message: str
    backend: dict[str, Any] | None
    rules: list[dict[str, Any]]


def backend_region(backend: dict[str, Any], local_region: str) -> str:
    return backend.get("region") or local_region


def decide_route(
    policy: Policy, *, domain: str, backends: list[dict[str, Any]], local_region: str
) -> RouteDecision:
    offered = {
        "rule": "domains.offered",
        "outcome": "allowed" if policy.offers(domain) else "refused",
        "why": f"{policy.jurisdiction} offers {', '.join(policy.offered_domains)}",
    }
    if not policy.offers(domain):
        return RouteDecision(
            allowed=False,
            reason="domain_not_offered",
            message=(
                f"The {policy.jurisdiction} policy does not offer the {domain!r} domain "
                f"(it offers {', '.join(policy.offered_domains)})."
            ),
            backend=None,
            rules=[offered],
        )
    configured = [f"{b['model']} ({backend_region(b, local_region)})" for b in backends]
    for backend in backends:
        region = backend_region(backend, local_region)
        if region in policy.allowed_regions:
            routed = {
                "rule": "residency.allowed_regions",
                "outcome": "routed",
                "why": f"{backend['model']} runs in {region}, which {policy.jurisdiction} allows "
                f"({', '.join(policy.allowed_regions)})",
            }
            return RouteDecision(
                allowed=True,
                reason="routed",
                message="",
                backend={**backend, "region": region},
                rules=[offered, routed],
            )
    return RouteDecision(
        allowed=False,
        reason="no_backend_in_allowed_region",
        message=(
            f"No model backend for the {domain!r} domain runs in a region the {policy.jurisdiction} "
            f"policy allows ({', '.join(policy.allowed_regions)}); configured: "
            f"{', '.join(configured) or 'none'}. The request was not sent anywhere."
        ),
        backend=None,
        rules=[
            offered,
            {
                "rule": "residency.allowed_regions",
                "outcome": "refused",
                "why": f"allowed {', '.join(policy.allowed_regions)}; configured {', '.join(configured)}",
            },
        ],
    )


@dataclass(frozen=True)
class ContentDecision:
    action: str  # "answer", "general_only" or "refuse"
    rule: RefusalRule | None
    rules: list[dict[str, Any]] = field(default_factory=list)


def decide_content(
    policy: Policy, *, domain: str, classifications: list[Classification]
) -> ContentDecision:
    """Apply the policy's refusal rules for the domain to the classifier's results. A fired
    ``refuse`` rule wins over a fired ``general_only`` rule; otherwise the question is answered."""
    by_category = {c.category: c for c in classifications}
    fired: list[RefusalRule] = []
    rules = []
    for rule in policy.refusals_for(domain):
        classification = by_category[rule.category]
        rules.append(
            {
                "rule": f"refusals.{rule.category}",
                "action": rule.action,
                "outcome": "fired" if classification.fired else "not_fired",
                "why": classification.as_json(),
            }
        )
        if classification.fired:
            fired.append(rule)
    for action in ("refuse", "general_only"):
        for rule in fired:
            if rule.action == action:
                return ContentDecision(action=action, rule=rule, rules=rules)
    return ContentDecision(action="answer", rule=None, rules=rules)


def policy_summary(policy: Policy, domain: str) -> dict[str, Any]:
    """What the policy says for one domain, for the record and for the explain endpoint."""
    disclaimer = policy.disclaimer_for(domain)
    return {
        "policy_id": policy.jurisdiction,
        "policy_version": policy.version,
        "chain": list(policy.chain),
        "entities": policy.entities_for(domain),
        "disclaimer": {"version": disclaimer.version, "text": disclaimer.text}
        if disclaimer
        else None,
        "retention_days": policy.retention_days,
        "requester_may_see_restored_pii": policy.requester_may_see_restored_pii,
        "officers_may_reveal_content": policy.officers_may_reveal_content,
    }


def decision_record(
    policy: Policy, domain: str, *, route: RouteDecision, content: ContentDecision | None = None
) -> dict[str, Any]:
    """What ``Inquiry.policy_decision`` holds, one shape for answered and refused inquiries
    alike: the policy's terms for the domain (``policy_summary``), the action taken, the backend
    the request was routed to (None when routing refused it), every rule evaluated in order and
    the refusal or notice rule that fired (None when none did).

    ``content`` is the refusal rules' decision; it is required once routing allowed the request.
    """
    if not route.allowed:
        action = "refuse"
        refusal = {"category": route.reason, "text": route.message, "reason": route.message}
    elif content is None:
        raise ValueError("a routed request needs the content decision")
    else:
        action = content.action
        refusal = (
            {
                "category": content.rule.category,
                "text": content.rule.text,
                "reason": content.rule.reason,
            }
            if content.rule
            else None
        )
    return {
        **policy_summary(policy, domain),
        "action": action,
        "backend": (
            {"model": route.backend["model"], "region": route.backend["region"]}
            if route.backend
            else None
        ),
        "rules": [*route.rules, *(content.rules if content else [])],
        "refusal": refusal,
    }
