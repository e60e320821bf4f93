"""How ``answer_benchmark`` scores an answer. Written apart from ``assistant.grounding`` and
sharing no code with it, so that the benchmark does not take the verifier's word for what the
verifier let through."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD_NUMBERS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million billion"
).split()
_FIGURE_RE = re.compile(r"\d+(?:[.,]\d+)*|\b(?:" + "|".join(_WORD_NUMBERS) + r")\b", re.IGNORECASE)
_REFERENCE_RE = re.compile(
    r"§+\s*\d+(?:\.\d+)*(?:\(\w+\))*"
    r"|\b(?:art(?:icle)?s?\.?|rule|recital|section|regulation|part)\s+\d+(?:\.\d+)*(?:\(\w+\))*"
    r"|\b\d{3}\.\d{3}(?:\(\w+\))*",
    re.IGNORECASE,
)
_MARKER_RE = re.compile(r"\[\d{1,2}\]")
_ABSTENTION_RE = re.compile(
    r"\bdo(?:es)?\s+not\s+(?:answer|cover)|\bcannot\s+answer|\bno\s+answer\s+was\s+generated"
    r"|\bnot\s+(?:covered|answered)\s+(?:by|in)\b|\bsources?\s+do(?:es)?\s+not\s+(?:say|address)",
    re.IGNORECASE,
)


def body(answer: str, *, notice: str = "") -> str:
    """The answer without the policy's notice and disclaimer."""
    parts = [p for p in answer.split("\n\n") if not p.startswith("Disclaimer (")]
    return "\n\n".join(p for p in parts if p != notice).strip()


def abstains(text: str) -> bool:
    return bool(_ABSTENTION_RE.search(text))


def sentences(text: str) -> list[str]:
    pieces = []
    for line in text.splitlines():
        pieces += re.split(r"(?<=[.!?])\s+(?=[A-Z\[(])", line.strip())
    return [p for p in pieces if p.strip()]


_WORD_VALUES = dict(
    zip(
        _WORD_NUMBERS,
        [*range(1, 21), 30, 40, 50, 60, 70, 80, 90, 100, 1000, 10**6, 10**9],
        strict=True,
    )
)


def _figures(text: str) -> set[str]:
    found = set()
    for figure in _FIGURE_RE.findall(_MARKER_RE.sub(" ", text)):
        figure = figure.lower().replace(",", "")
        found.add(str(_WORD_VALUES.get(figure, figure)))
    return found


def _references(text: str) -> set[str]:
    """The number part of each rule reference: "Art. 33(1)" -> "33(1)", "§ 164.404" -> "164.404"."""
    cores = (re.search(r"\d+(?:\.\d+)*(?:\(\w+\))*", r) for r in _REFERENCE_RE.findall(text))
    return {core.group(0).lower() for core in cores if core}


def _within(reference: str, known: set[str]) -> bool:
    """The reference, or a part of one ("33" of "33(1)", "164.404" of "164.404(b)")."""
    return any(k == reference or k.startswith((reference + "(", reference + ".")) for k in known)


@dataclass(frozen=True)
class Claim:
    sentence: str
    missing: list[str]  # figures and references the cited text does not contain


def unsupported(text: str, citations: Sequence[dict]) -> list[Claim]:
    """The sentences of ``text`` with a number, amount, duration or rule reference that the
    text of the passages they cite does not contain. A sentence with ``[n]`` markers is held to
    the passages with those numbers; one without, to all the answer's citations."""
    by_number = {c["number"]: c for c in citations}
    claims = []
    for sentence in sentences(text):
        numbers = [int(m[1:-1]) for m in _MARKER_RE.findall(sentence)]
        cited = [by_number[n] for n in numbers if n in by_number] or list(citations)
        source = " ".join(f"{c['citation']} {c.get('quote') or c['text']}" for c in cited)
        missing = sorted(_figures(sentence) - _figures(source))
        known = _references(source)
        missing += sorted(r for r in _references(sentence) if not _within(r, known))
        if missing:
            claims.append(Claim(sentence, missing))
    return claims


def facts_found(text: str, facts: Sequence[str]) -> bool:
    return all(re.search(fact, text, re.IGNORECASE) for fact in facts)


def cites(citations: Sequence[dict], expected: Sequence[str]) -> bool:
    labels = [c["citation"].lower() for c in citations]
    return any(e.lower() in label for e in expected for label in labels)
