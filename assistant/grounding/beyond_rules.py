"""Questions that no rule text answers, whatever it says: what is the case now ("Which third
countries currently benefit from an adequacy decision?"), what usually happens in practice ("How
many months does the Commission usually take ...?"), what a proposal that is not law would
require ("Under the 2021 proposed changes to the Privacy Rule ...") and what a regulator did
("How much did the Irish authority fine Meta?"). The sources are the rules in force; retrieval
would still find the rule on the subject (Art. 45 on adequacy, the access rule in force), and
quoting it would pass a rule off as the state of affairs or the proposal asked about. The
service abstains and says why.

The patterns are narrow on purpose: "the proposed penalty", "the lead authority's draft
decision" and "the latest date" are steps of the rules, asked about in questions the sources do
answer."""

from __future__ import annotations

import re

_KINDS = [
    (
        "now",
        r"\b(?:currently|at\s+present|presently|nowadays|these\s+days|as\s+things\s+stand)\b",
    ),
    (
        "practice",
        r"\b(?:usually|typically|on\s+average)\s+(?:take|takes|took|last|lasts|get|gets|"
        r"receive|receives|pay|pays|charge|charges|fine|fines|impose|imposes|issue|issues)\b"
        r"|\bon\s+average\b",
    ),
    (
        "proposed",
        r"\b(?:proposed|draft|pending|upcoming|forthcoming)\s+(?:[\w-]+\s+){0,2}?"
        r"(?:changes?|amendments?|rules?|regulations?|bill|legislation|law|act|reform)\b",
    ),
    (
        "enforcement",
        r"\bhow\s+much\s+did\b|\bhow\s+many\s+(?:fines|penalties|cases|complaints|breaches|"
        r"investigations|settlements)\s+(?:did|has|have)\b",
    ),
]  # fmt: skip
_KIND_RES = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _KINDS]

_LEADS = {
    "now": "what is the case at present",
    "practice": "what usually happens in practice",
    "proposed": "what a proposal that is not in force would require",
    "enforcement": "what regulators or courts have decided in particular cases",
}


def beyond_rules(question: str) -> str | None:
    """What the question asks that rule texts do not state ("now", "practice", "proposed",
    "enforcement"), if it asks one of these."""
    for kind, pattern in _KIND_RES:
        if pattern.search(question):
            return kind
    return None


def beyond_rules_lead(kind: str) -> str:
    """The abstention's first sentence for such a question."""
    return (
        "The sources for this domain state the rules in force; they do not say "
        f"{_LEADS[kind]}, so they do not answer this question."
    )
