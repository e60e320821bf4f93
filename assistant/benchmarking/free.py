"""The baseline of ``answer_benchmark``: answers as the service made them before verification
existed. The model was given whole passages and wrote freely; its ``[n]`` markers were kept when
they pointed at a passage, an unmarked answer was attributed to the passages sharing most of its
words, and the text was delivered as written. ``free_generate`` and ``free_screen_output`` are
those two pipeline steps, reproduced so that the benchmark measures both in one run. The service
itself no longer uses any of this."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.backends import backend_for
from assistant.grounding.compose import with_notice_and_disclaimer
from assistant.grounding.evidence import PassageLike
from assistant.inquiries.claims import inquiry_finish
from assistant.inquiries.pipeline.context import Run
from assistant.inquiries.pipeline.drafts import DraftPublisher
from assistant.inquiries.pipeline.generate import system_prompt_for
from compliance import pii
from compliance.citations import normalise_reference, references_in

GROUNDING_RULES = (
    "Answer only from the numbered passages. After each statement, cite the passage it comes "
    "from with its number in square brackets, for example [1]. If the passages do not answer "
    "the question, say that the available sources do not answer it. Placeholders such as "
    "<PERSON_1> stand for redacted personal data: keep them as they are and never guess what "
    "they hide. Be brief."
)


def build_messages(
    *,
    system_prompt: str,
    question: str,
    passages: Sequence[PassageLike],
    count_tokens: Callable[[list[dict[str, str]]], int],
    max_input_tokens: int,
    history: Sequence[tuple[str, str]] = (),
) -> tuple[list[dict[str, str]], list[PassageLike]]:
    """Chat messages for the model and the passages they include. ``history`` holds earlier
    (question, answer) turns of the conversation, already redacted. Lower-ranked passages are
    dropped until the prompt fits ``max_input_tokens``."""
    included = list(passages)
    earlier = [
        {"role": role, "content": text}
        for question, answer in history
        for role, text in (("user", question), ("assistant", answer))
    ]
    while True:
        context = "\n\n".join(
            f"[{number}] {passage.citation}: {passage.text}"
            for number, passage in enumerate(included, start=1)
        )
        user = (
            f"Passages:\n{context}\n\nQuestion: {question}" if included else f"Question: {question}"
        )
        messages = [
            {"role": "system", "content": f"{system_prompt.strip()}\n\n{GROUNDING_RULES}"},
            *earlier,
            {"role": "user", "content": user},
        ]
        if not included or count_tokens(messages) <= max_input_tokens:
            return messages, included
        included.pop()


@dataclass(frozen=True)
class Citation:
    number: int
    passage: PassageLike

    def as_json(self) -> dict:
        return {
            "number": self.number,
            "passage_id": self.passage.source_id,
            "citation": self.passage.citation,
            "title": self.passage.title,
            "text": self.passage.text,
            "score": self.passage.score,
        }


MARKER_RE = re.compile(r"\[(?:P|Passage\s*)?(\d{1,2})\]", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z][a-z0-9'-]{2,}")
_STOPWORDS = frozenset(
    "the and for that with this from are was were been have has had not but any all can may "
    "must shall will would should could its their they them than then there these those such "
    "into onto upon under over about after before within without which who whom whose what when "
    "where why how also each other more most some only own same very just you your our his her "
    "does did done being".split()
)
# A sentence is attributed to a passage when at least this share of its content words (crudely
# stemmed) occur in the passage; passages within ATTRIBUTION_TIE of the best share count too.
ATTRIBUTION_MIN_OVERLAP = 0.45
ATTRIBUTION_TIE = 0.1
ATTRIBUTION_MIN_WORDS = 4


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _content_words(text: str) -> set[str]:
    return {_stem(word) for word in _WORD_RE.findall(text.lower()) if word not in _STOPWORDS}


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.!?])\s+", text) if part.strip()]


@dataclass(frozen=True)
class CitedAnswer:
    text: str
    citations: list[Citation]
    grounding: str  # "cited", "attributed" or "unsupported"
    invalid_markers: int
    # Rule references in the answer text that none of the given passages contains: the model
    # may have made them up, and the reader is told so.
    unverified_references: list[str]


def unverified_references(answer: str, passages: Sequence[PassageLike]) -> list[str]:
    known = " | ".join(normalise_reference(f"{p.citation} {p.text}") for p in passages)
    unverified = []
    for reference in references_in(answer):
        if normalise_reference(reference) not in known and reference not in unverified:
            unverified.append(reference)
    return unverified


def resolve_citations(answer: str, passages: Sequence[PassageLike]) -> CitedAnswer:
    """Citations from the answer's ``[n]`` markers, keeping only those that point at a passage
    the model was given. Markers pointing elsewhere are removed from the text.

    Small models often answer correctly from a passage without marking it. Then each sentence
    of the answer is attributed to the passages that contain most of its content words, and
    ``grounding`` says the citations were attributed rather than given by the model.
    """
    cited: dict[int, Citation] = {}
    invalid = 0

    def keep_valid(match: re.Match[str]) -> str:
        nonlocal invalid
        number = int(match.group(1))
        if 1 <= number <= len(passages):
            cited.setdefault(number, Citation(number, passages[number - 1]))
            return f"[{number}]"
        invalid += 1
        return ""

    text = MARKER_RE.sub(keep_valid, answer)
    text = re.sub(r"[ \t]+([.,;:])", r"\1", text).strip()
    unverified = unverified_references(text, passages)
    if cited:
        return CitedAnswer(text, [cited[n] for n in sorted(cited)], "cited", invalid, unverified)

    passage_words = [_content_words(f"{p.citation} {p.title} {p.text}") for p in passages]
    attributed: dict[int, Citation] = {}
    for sentence in _sentences(text):
        words = _content_words(sentence)
        if len(words) < ATTRIBUTION_MIN_WORDS:
            continue
        shares = [len(words & candidate) / len(words) for candidate in passage_words]
        best = max(shares, default=0.0)
        if best < ATTRIBUTION_MIN_OVERLAP:
            continue
        for number, share in enumerate(shares, start=1):
            if share >= best - ATTRIBUTION_TIE and share >= ATTRIBUTION_MIN_OVERLAP:
                attributed.setdefault(number, Citation(number, passages[number - 1]))
    citations = [attributed[n] for n in sorted(attributed)]
    grounding = "attributed" if citations else "unsupported"
    return CitedAnswer(text, citations, grounding, invalid, unverified)


# What the shipped domains generated with before verification.
FREE_MAX_NEW_TOKENS = 160


def free_generate(run: Run) -> None:
    """The generate step as it was: whole passages in the prompt, 160 tokens of free text."""
    profile = run.route.backend
    with run.timed("generate"):
        backend = backend_for(profile)
        system_prompt = system_prompt_for(run)
        run.messages, run.included = build_messages(
            system_prompt=system_prompt,
            question=run.question,
            passages=run.passages,
            count_tokens=backend.count_tokens,
            max_input_tokens=profile["max_input_tokens"],
            history=[],
        )
        run.drafts = DraftPublisher(
            run.inquiry, run.key, entities=run.summary["entities"], interval=run.draft_interval
        )
        run.generation = backend.generate(
            run.messages, max_new_tokens=FREE_MAX_NEW_TOKENS, on_text=run.drafts
        )


def free_screen_output(run: Run) -> None:
    """The screen output step as it was: the model's text, PII-screened, delivered as written
    with the citations its markers or its words point at."""
    with run.timed("screen_output"):
        screened = pii.screen_output(run.generation.text, entities=run.summary["entities"])
        cited = resolve_citations(screened.text, run.included)
    inquiry_finish(
        run.inquiry,
        run.key,
        answer=with_notice_and_disclaimer(run.notice, cited.text, run.summary["disclaimer"]),
        citations=[c.as_json() for c in cited.citations],
        grounding=cited.grounding,
        answer_entities=screened.counts,
        unverified_references=cited.unverified_references,
        timings=run.timings,
    )
    run.finished = True
