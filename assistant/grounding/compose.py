"""The answer as delivered: the verified sentences, then the evidence they rest on quoted
verbatim with its citation label, so the reader sees the rule's own words. When no sentence
survives, the quotes alone under a neutral lead; when the evidence is weak, an abstention that
says what was searched. Nothing else reaches the reader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.grounding.evidence import Evidence
from assistant.grounding.verify import Verification

QUOTES_LEAD = "The sources say:"
# Before the evidence that no kept sentence cites: the selection chose it for the question, and
# a sentence that rests on one quote must not hide the others from the reader.
MORE_QUOTES_LEAD = "Also in the sources:"
ABSTENTION = "The sources for this domain and jurisdiction do not answer this question."


@dataclass(frozen=True)
class Delivery:
    text: str  # the answer body, without notice or disclaimer
    grounding: str  # "verified", "quoted", "abstained" or "no_passages"
    quotes: list[Evidence]  # numbered as in ``text``

    def citations(self) -> list[dict]:
        return [quote.as_json() for quote in self.quotes]


def delivered(verification: Verification, evidence: Sequence[Evidence]) -> Delivery:
    """The verified sentences and the evidence they cite, renumbered from 1 in order of first
    citation, then the rest of the evidence under ``MORE_QUOTES_LEAD``; without a verified
    sentence, every piece of evidence under ``QUOTES_LEAD``."""
    kept = verification.kept
    if not kept:
        quotes = _renumbered(list(evidence))
        return Delivery(f"{QUOTES_LEAD}\n\n{quote_lines(quotes)}", "quoted", quotes)
    by_number = {e.number: e for e in evidence}
    order: list[int] = []
    for sentence in kept:
        order += [n for n in sentence.evidence if n not in order]
    new_number = {old: new for new, old in enumerate(order, start=1)}
    body = " ".join(
        _with_markers(sentence.text, [new_number[n] for n in sentence.evidence])
        for sentence in kept
    )
    quotes = _renumbered([by_number[n] for n in order])
    text = f"{body}\n\n{quote_lines(quotes)}"
    rest = _renumbered([e for e in evidence if e.number not in new_number], start=len(quotes) + 1)
    if rest:
        text += f"\n\n{MORE_QUOTES_LEAD}\n{quote_lines(rest)}"
    return Delivery(text, "verified", quotes + rest)


def abstained(*, searched: str, grounding: str = "abstained", lead: str = ABSTENTION) -> Delivery:
    """The abstention, with what was searched ("the Healthcare corpus for US, 45 passages")."""
    return Delivery(f"{lead} Searched: {searched}.", grounding, [])


def with_notice_and_disclaimer(notice: str, body: str, disclaimer: dict[str, str] | None) -> str:
    """The stored answer: a policy notice if any, the body, then the policy's disclaimer."""
    parts = [notice, body]
    if disclaimer:
        parts.append(f"Disclaimer ({disclaimer['version']}): {disclaimer['text']}")
    return "\n\n".join(part for part in parts if part)


def quote_lines(quotes: Sequence[Evidence]) -> str:
    return "\n".join(
        f'[{quote.number}] {quote.citation}: "{" ".join(quote.text.split())}"' for quote in quotes
    )


def _renumbered(quotes: list[Evidence], start: int = 1) -> list[Evidence]:
    return [quote.renumbered(number) for number, quote in enumerate(quotes, start=start)]


def _with_markers(sentence: str, numbers: list[int]) -> str:
    marks = "".join(f"[{n}]" for n in numbers)
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1]} {marks}{sentence[-1]}"
    return f"{sentence} {marks}."
