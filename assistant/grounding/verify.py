"""Verification before delivery: each sentence of the model's draft must rest on one piece of
evidence and agree with it, or it is dropped. Agreement means every number (with its unit,
qualifier and bound), amount, percentage and rule reference of the sentence appears in that
evidence or its citation label; the sentence's modality (must, must not, may, need not) and
negation are the evidence's; and most of its content words are the evidence's."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.grounding.claims import (
    Number,
    modalities,
    negated,
    numbers,
    reference_supported,
    references,
)
from assistant.grounding.evidence import Evidence
from assistant.grounding.text import content_words, sentence_spans

MARKER_RE = re.compile(r"\[(?:P|Passage\s*|Evidence\s*)?(\d{1,2})\]", re.IGNORECASE)
_MARKERS_AFTER_END_RE = re.compile(r"([.!?])((?:\s*\[\d{1,2}\])+)")
_ABSTAINING_RE = re.compile(
    r"\b(?:does|do)\s+not\s+(?:answer|say|state|address|mention|cover)|\bnot\s+(?:stated|"
    r"mentioned|specified|provided|given)\b|\bno\s+information\b",
    re.IGNORECASE,
)

# A sentence is kept when at least this share of its content words occur in its evidence. Words
# it takes from the question count against it like any other: "Yes, there is a time bar on ..."
# restates the question and adds a verdict the evidence does not give.
MIN_COVERAGE = 0.75
MIN_CONTENT_WORDS = 2
# A verdict that opens a sentence ("Yes, ...", "No, ...") is the model's judgement, not the
# evidence's words: it is taken off, and what follows is checked and delivered on its own.
_VERDICT_RE = re.compile(r"^(?:yes|no|correct|indeed)\b[,:;.!]?\s+", re.IGNORECASE)

# Why a sentence was dropped, in the order the checks run.
REASONS = (
    "fragment",  # too short to state anything
    "model_abstained",  # the model said the evidence does not answer
    "reference",  # a rule reference the evidence does not give
    "number",  # a number, amount, percentage or duration the evidence does not give
    "modality",  # must / must not / may / need not differ from the evidence
    "negation",  # negates what the evidence does not
    "coverage",  # too few of its words are the evidence's
)


@dataclass(frozen=True)
class Checked:
    text: str  # the sentence without markers
    evidence: tuple[int, ...]  # the numbers of the evidence it rests on (kept sentences)
    reason: str = ""  # one of REASONS when dropped

    @property
    def kept(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class Verification:
    sentences: list[Checked]

    @property
    def kept(self) -> list[Checked]:
        return [s for s in self.sentences if s.kept]

    @property
    def dropped(self) -> dict[str, int]:
        counts = Counter(s.reason for s in self.sentences if not s.kept)
        return {reason: counts[reason] for reason in REASONS if counts[reason]}

    @property
    def model_abstained(self) -> bool:
        return any(s.reason == "model_abstained" for s in self.sentences)

    def summary(self) -> dict:
        """For the audit trail: counts and reasons, never text."""
        return {
            "sentences": len(self.sentences),
            "kept": len(self.kept),
            "dropped": self.dropped,
        }


def draft_sentences(draft: str) -> list[tuple[str, list[int]]]:
    """The draft's sentences, each without its ``[n]`` markers and with the numbers they gave.
    A marker written after the full stop ("... days. [1]") belongs to the sentence before it."""
    text = _MARKERS_AFTER_END_RE.sub(lambda m: f"{m.group(2)}{m.group(1)}", draft.strip())
    found = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        markers = [int(n) for n in MARKER_RE.findall(sentence)]
        plain = " ".join(MARKER_RE.sub(" ", sentence).split())
        plain = re.sub(r"\s+([.,;:!?])", r"\1", plain)
        if plain:
            found.append((plain, markers))
    return found


def verify(draft: str, evidence: Sequence[Evidence]) -> Verification:
    """Each sentence of ``draft`` checked against ``evidence``."""
    return Verification([_check(s, markers, evidence) for s, markers in draft_sentences(draft)])


def _check(sentence: str, markers: list[int], evidence: Sequence[Evidence]) -> Checked:
    sentence = _VERDICT_RE.sub("", sentence)
    sentence = sentence[:1].upper() + sentence[1:]
    if len(content_words(sentence)) < MIN_CONTENT_WORDS:
        return Checked(sentence, (), "fragment")
    if _ABSTAINING_RE.search(sentence):
        return Checked(sentence, (), "model_abstained")
    by_number = {e.number: e for e in evidence}
    cited = tuple(sorted({n for n in markers if n in by_number}))
    # The evidence the model cited first, then each piece alone: a sentence that cites the
    # wrong number but agrees with another piece rests on that one.
    candidates = ([cited] if cited else []) + [
        (e.number,) for e in evidence if (e.number,) != cited
    ]
    first_reason = ""
    for numbers_ in candidates:
        reason = disagreement(sentence, [by_number[n] for n in numbers_])
        if not reason:
            return Checked(sentence, numbers_)
        first_reason = first_reason or reason
    return Checked(sentence, (), first_reason or "coverage")


def disagreement(sentence: str, evidence: Sequence[Evidence]) -> str:
    """Why ``sentence`` does not rest on ``evidence`` ("" when it does)."""
    source = " ".join(f"{e.citation}: {e.text}" for e in evidence)
    if not all(reference_supported(r, source) for r in references(sentence)):
        return "reference"
    given = numbers(source)
    if not all(_number_given(n, given) for n in numbers(sentence)):
        return "number"
    if not modalities(sentence) <= modalities(" ".join(e.text for e in evidence)):
        return "modality"
    if negated(sentence) and not negated(" ".join(e.text for e in evidence)):
        return "negation"
    supported = set(content_words(source))
    words = content_words(sentence)
    covered = sum(w in supported for w in words)
    if covered < MIN_CONTENT_WORDS or covered < MIN_COVERAGE * len(words):
        return "coverage"
    return ""


def _number_given(number: Number, given: list[Number]) -> bool:
    return any(
        other.value == number.value
        and (not number.unit or other.unit == number.unit)
        and (not number.qualifier or other.qualifier == number.qualifier)
        and (not number.percent or other.percent)
        and (not number.currency or not other.currency or other.currency == number.currency)
        and not (number.bound and other.bound and number.bound != other.bound)
        for other in given
    )


class DraftWatch:
    """Ends a draft early, for ``ModelBackend.generate(stop=...)``: once it holds
    ``max_sentences`` complete sentences, as soon as a complete sentence fails verification, or
    when the sentence being written has ``PARTIAL_WORDS`` content words and not half of them are
    the evidence's. A model that has left its evidence seldom comes back to it, and what it
    writes next would be dropped as well; stopping there saves the time it would take."""

    PARTIAL_WORDS = 8

    def __init__(self, evidence: Sequence[Evidence], *, max_sentences: int = 2) -> None:
        self.evidence = evidence
        self.max_sentences = max_sentences
        self.checked = 0
        self.supported = set(content_words(" ".join(f"{e.citation} {e.text}" for e in evidence)))

    def __call__(self, draft: str) -> bool:
        sentences = draft_sentences(draft)
        complete, writing = sentences[:-1], sentences[-1:]
        for sentence, markers in complete[self.checked :]:
            self.checked += 1
            if not _check(sentence, markers, self.evidence).kept:
                return True
        if self.checked >= self.max_sentences:
            return True
        words = content_words(writing[0][0]) if writing else []
        return len(words) >= self.PARTIAL_WORDS and 2 * sum(
            w in self.supported for w in words
        ) < len(words)
