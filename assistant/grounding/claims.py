"""What a sentence asserts beyond its words: numbers (with their unit and bound), rule
references, modality (must / must not / may / need not) and negation. Verification compares
these between a sentence the model wrote and the evidence it cites."""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance.citations import CITATION_RE, normalise_reference

_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100,
}  # fmt: skip
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_UNITS = {
    "second": "second", "minute": "minute", "hour": "hour", "day": "day", "week": "week",
    "month": "month", "year": "year",
}  # fmt: skip
_NUMBER_RE = re.compile(
    r"(?P<currency>[$€£]|\b(?:USD|EUR|GBP|AED|US\$)\s?)?"
    r"(?P<value>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)*|\b(?:"
    + "|".join(_WORD_NUMBERS)
    + r")\b)"
    r"(?:[\s-]?(?P<scale>thousand|million|billion)\b)?"
    r"(?:\s?(?P<percent>%|per\s?cent\b|percent\b))?"
    r"(?:[\s-]+(?P<qualifier>calendar|business|working|consecutive|clear))?"
    r"(?:[\s-]+(?P<unit>second|minute|hour|day|week|month|year)s?\b)?",
    re.IGNORECASE,
)
# A bound just before a number: "within 60 days" and "no later than 60 days" say the same.
_UPPER = r"within|no\s+later\s+than|not\s+later\s+than|in\s+no\s+case\s+later\s+than|up\s+to|at\s+most|no\s+more\s+than|not\s+more\s+than|a\s+maximum\s+of|maximum\s+of|less\s+than|fewer\s+than|before|under"
_LOWER = r"at\s+least|no\s+less\s+than|not\s+less\s+than|no\s+fewer\s+than|a\s+minimum\s+of|minimum\s+of|more\s+than|over|exceeding|in\s+excess\s+of|above"
_BOUND_RE = re.compile(
    rf"(?:\b(?P<upper>{_UPPER})|\b(?P<lower>{_LOWER}))\s+(?:the\s+)?$", re.IGNORECASE
)


@dataclass(frozen=True)
class Number:
    value: str  # normalised: digits, no thousands separators ("10000", "164.404", "60")
    unit: str = ""  # "day", "hour", ... for a duration
    qualifier: str = ""  # "calendar", "business", ...
    percent: bool = False
    currency: str = ""
    bound: str = ""  # "upper", "lower" or ""


def _normalise_value(raw: str, scale: str | None) -> str:
    raw = raw.lower()
    if raw in _WORD_NUMBERS:
        value: float = _WORD_NUMBERS[raw]
    elif raw.count(".") > 1 or (
        "." in raw and "," not in raw and scale is None and len(raw.split(".")[1]) == 3
    ):
        # A section number ("164.404", "8.1.2") is compared as written.
        return raw
    else:
        value = float(raw.replace(",", ""))
    if scale:
        value *= _SCALES[scale.lower()]
    return str(int(value)) if float(value).is_integer() else str(value)


def numbers(text: str) -> list[Number]:
    """Every number in ``text``, with the unit, qualifier and bound that go with it."""
    found = []
    for match in _NUMBER_RE.finditer(text):
        value = _normalise_value(match.group("value"), match.group("scale"))
        bound = _BOUND_RE.search(text[max(0, match.start() - 40) : match.start()])
        currency = (match.group("currency") or "").strip().upper().replace("US$", "$")
        found.append(
            Number(
                value=value,
                unit=_UNITS.get((match.group("unit") or "").lower(), ""),
                qualifier=(match.group("qualifier") or "").lower(),
                percent=bool(match.group("percent")),
                currency={"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency),
                bound="upper" if bound and bound.group("upper") else "lower" if bound else "",
            )
        )
    return found


def references(text: str) -> list[str]:
    """Rule references in ``text``, normalised ("Article 33(1)" and "Art. 33(1)" alike)."""
    return [_normalise(match.group(0)) for match in CITATION_RE.finditer(text)]


def _normalise(reference: str) -> str:
    reference = normalise_reference(reference)
    reference = re.sub(r"^(?:article|art)\.?\s*", "art. ", reference)
    return re.sub(r"^(?:section|sec\.)\s*", "section ", reference)


def reference_supported(reference: str, evidence: str) -> bool:
    """Whether a normalised reference is in the evidence (its text and citation label): the
    same rule, or a part of one the evidence names ("Art. 33" within "Art. 33(1)")."""
    known = references(evidence) + [_normalise(evidence)]
    return any(other == reference or other.startswith(reference) for other in known) or (
        reference.split(" ", 1)[-1] in normalise_reference(evidence)
    )


# Modal classes, most specific first: a phrase is taken by the first class that matches it.
_MODALS = [
    ("prohibition", r"must\s+not|mustn't|shall\s+not|may\s+not|can\s*not|can't|cannot|is\s+prohibited|are\s+prohibited|prohibits?|(?:is|are)\s+not\s+(?:permitted|allowed)|forbid(?:s|den)?"),
    ("exemption", r"need\s+not|needs\s+not|(?:does|do)\s+not\s+(?:need|have)\s+to|(?:is|are)\s+not\s+(?:required|obliged|obligated)|not\s+necessary|(?:is|are)\s+exempt"),
    ("obligation", r"must|shall|(?:is|are)\s+required|required\s+to|(?:has|have)\s+to|needs?\s+to|(?:is|are)\s+obliged|obligated|obliges?"),
    ("permission", r"may|can|(?:is|are)\s+(?:permitted|allowed)|permits?|allows?"),
]  # fmt: skip
_MODAL_RES = [(name, re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)) for name, pattern in _MODALS]
_NEGATION_RE = re.compile(r"\b(?:not|no|never|none|neither|nor|n't)\b", re.IGNORECASE)
# "no later than" and "not later than" bound a number; they negate nothing.
_BOUND_NEGATION_RE = re.compile(
    r"\b(?:no|not)\s+(?:later|more|less|fewer)\s+than\b|\bin\s+no\s+case\b", re.IGNORECASE
)


def modalities(text: str) -> set[str]:
    """The modal classes ``text`` expresses."""
    found = set()
    for name, pattern in _MODAL_RES:
        if pattern.search(text):
            found.add(name)
            text = pattern.sub(" ", text)
    return found


def negated(text: str) -> bool:
    """Whether ``text`` negates something outside its modal phrases and its bounds."""
    text = _BOUND_NEGATION_RE.sub(" ", text)
    for _, pattern in _MODAL_RES[:2]:
        text = pattern.sub(" ", text)
    return bool(_NEGATION_RE.search(text))
