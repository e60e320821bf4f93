"""Jurisdiction codes and how they nest, as the policies define them.

A code is known when a (non-abstract) policy file defines it; ``US-CA`` lies within ``US``
because its policy extends ``US``. Passages tagged for a jurisdiction apply to the jurisdictions
within it; ``*`` applies everywhere.
"""

from __future__ import annotations

from compliance.policy import policies

EVERYWHERE = "*"


def jurisdiction_names() -> dict[str, str]:
    return {code: policy.name for code, policy in sorted(policies().policies.items())}


def lineage(code: str) -> list[str]:
    """The code and every jurisdiction it lies within, most specific first: US-CA -> [US-CA, US]."""
    policy = policies().get(code)
    if policy is None:
        return [code]
    known = policies().policies
    return [c for c in policy.chain if c in known]


def applies_to(passage_jurisdictions: list[str], requested: str) -> bool:
    """Whether a passage tagged with ``passage_jurisdictions`` is relevant to ``requested``."""
    if EVERYWHERE in passage_jurisdictions:
        return True
    return any(code in passage_jurisdictions for code in lineage(requested))
