"""Whether evidence can answer the question at all, beyond its score: a question that asks
for a kind of answer (a time limit, how often, an amount, a percentage, a count) needs
evidence that states one. This is how many near misses look: evidence on the same subject that
does not say what was asked ("What maximum fine ...?" over a passage that sets a duty but no
fine)."""

from __future__ import annotations

import re

from assistant.grounding.claims import numbers
from compliance.citations import CITATION_RE

_KINDS = [
    # "How often ...?" asks how frequently a duty recurs: a retention period or a deadline
    # does not say.
    (
        "frequency",
        r"\bhow\s+(?:often|frequently)\b|\bat\s+what\s+(?:interval|frequency)\b"
        r"|\b(?:fixed|regular|change|review)\s+intervals?\b",
    ),
    (
        "duration",
        r"\bhow\s+(?:long|soon|quickly|fast|many\s+(?:calendar\s+|business\s+|working\s+)?(?:hours|days|weeks|months|years))\b"
        r"|\b(?:deadline|time\s+limit|time\s*frame|limitation\s+period|retention\s+period|period\s+of\s+time)\b"
        r"|\bwithin\s+what\s+(?:time|period)\b|\bby\s+when\b"
        r"|\bhow\s+much\s+(?:longer|later|(?:extra\s+|more\s+|additional\s+)?time)\b",
    ),
    (
        "percentage",
        r"\bwhat\s+(?:percentage|percent|proportion|share)\b|\bhow\s+many\s+percent\b",
    ),
    (
        "amount",
        # "How much security ...?" asks for no sum of money.
        r"\bhow\s+much\b(?!\s+(?:security|protection|information|detail|data|notice|care|effort)\b)"
        r"|\b(?:maximum|minimum|highest|lowest|largest|dollar|euro|monetary|cash)\s+"
        r"(?:[\w-]+\s+)?(?:fine|fines|penalty|penalties|amount|threshold|sum|cap|value)\b"
        r"|\b(?:what|which)\s+(?:is\s+the\s+)?(?:fine|amount|threshold|cap|fee)\b"
        r"|\bat\s+what\s+(?:[\w-]+\s+)?(?:amount|threshold|value|level)\b",
    ),
    ("count", r"\bhow\s+many\b|\bwhat\s+number\s+of\b|\bfrom\s+what\s+number\b"),
]  # fmt: skip
_KIND_RES = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _KINDS]
_TIME_WORDS_RE = re.compile(
    r"\b(?:without\s+(?:undue\s+|unreasonable\s+|further\s+)?delay|immediately|promptly|as\s+soon\s+as|forthwith|"
    r"at\s+the\s+same\s+time|prior\s+to|before|until|expir\w*|each\s+year|calendar\s+year)\b",
    re.IGNORECASE,
)
# "How many hours ...?" asks for a number of hours: evidence in hours or days can answer it,
# evidence that counts years cannot. Each unit accepts its neighbours ("72 hours" for "how many
# days", "one month" for "how many days").
_ASKED_UNIT_RE = re.compile(
    r"\bhow\s+many\s+(?:(?:calendar|business|working|consecutive|clear|full)\s+)?"
    r"(?P<unit>second|minute|hour|day|week|month|year)s?\b",
    re.IGNORECASE,
)
_NEAR_UNITS = {
    "second": {"second", "minute"},
    "minute": {"second", "minute", "hour"},
    "hour": {"minute", "hour", "day"},
    "day": {"hour", "day", "week", "month"},
    "week": {"day", "week", "month"},
    "month": {"day", "week", "month", "year"},
    "year": {"month", "year"},
}
# A recurrence: "once every 12 months", "at least every four years", "annually". A bare
# "annual" is no recurrence where it qualifies a sum ("annual turnover").
_FREQUENCY_RE = re.compile(
    r"\b(?:every|each|per|once\s+(?:a|an|every|per|each))\s+(?:[\w-]+\s+){0,2}?"
    r"(?:second|minute|hour|day|week|month|year)s?\b"
    r"|\b(?:annually|yearly|monthly|quarterly|weekly|daily|biennially)\b"
    r"|\b(?:annual|biennial)\b(?!\s+(?:turnover|receipts|revenue|income|salary|budget))",
    re.IGNORECASE,
)
_MARKER_RE = re.compile(r"(?:^|\s)\(\w{1,5}\)|^\s*\w{1,3}[.)]\s", re.MULTILINE)


def asks_for(question: str) -> str | None:
    """The kind of answer the question asks for, if it asks for one: "frequency",
    "duration", "percentage", "amount" or "count"."""
    for kind, pattern in _KIND_RES:
        if pattern.search(question):
            return kind
    return None


def asks_for_unit(question: str) -> str | None:
    """The unit of time a question counts in ("hour" for "within how many hours"), if any."""
    match = _ASKED_UNIT_RE.search(question)
    return match.group("unit").lower() if match else None


def gives(text: str, kind: str, unit: str | None = None) -> bool:
    """Whether ``text`` states an answer of that kind (numbers in rule references and list
    markers do not count); for a duration asked for in ``unit``, a number of that unit or a
    neighbouring one."""
    plain = _MARKER_RE.sub(" ", CITATION_RE.sub(" ", text))
    if kind == "frequency":
        return bool(_FREQUENCY_RE.search(plain))
    found = numbers(plain)
    if kind == "duration" and unit:
        return any(n.unit in _NEAR_UNITS[unit] for n in found)
    if kind == "duration":
        return any(n.unit for n in found) or bool(_TIME_WORDS_RE.search(plain))
    if kind == "percentage":
        return any(n.percent for n in found)
    if kind == "amount":
        return any(
            n.currency or n.percent or len(n.value.split(".")[0]) >= 3 for n in found
        ) or bool(re.search(r"\b(?:euros?|dollars?|pounds?)\b", plain, re.IGNORECASE))
    return bool(found)
