"""Evidence: the sentences and clauses of the retrieved passages that bear on the question,
each with its passage, citation label and offsets. The model sees only these; the answer is
checked against them and quotes them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.grounding.answerable import asks_for, asks_for_unit, gives
from assistant.grounding.claims import references
from assistant.grounding.text import content_words, sentence_spans


class PassageLike(Protocol):
    source_id: str
    citation: str
    title: str
    text: str
    score: float


@dataclass(frozen=True)
class Evidence:
    number: int  # [n] in the prompt, the answer and its quotes
    passage: PassageLike
    start: int  # offsets of the quoted text in passage.text
    end: int
    score: float  # how well it answers the question (see EvidenceSettings)
    # The unit that scored, within the quote: what the model is shown.
    focus_start: int = 0
    focus_end: int = 0

    @property
    def text(self) -> str:
        """What is quoted, and what a sentence resting on this evidence is checked against."""
        return self.passage.text[self.start : self.end]

    @property
    def focus(self) -> str:
        return self.passage.text[self.focus_start : self.focus_end] or self.text

    def renumbered(self, number: int) -> Evidence:
        return dataclasses.replace(self, number=number)

    @property
    def citation(self) -> str:
        return self.passage.citation

    def as_json(self) -> dict:
        return {
            "number": self.number,
            "passage_id": self.passage.source_id,
            "citation": self.passage.citation,
            "title": self.passage.title,
            "quote": self.text,
            "start": self.start,
            "end": self.end,
            "text": self.passage.text,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class EvidenceSettings:
    """How evidence is scored and chosen. A unit's score is its cosine similarity to the question
    plus ``lexical_weight`` times the share of the question's content words it contains, plus
    ``passage_weight`` times its passage's similarity to the question, plus ``reference_bonus``
    when it or its passage's label cites a rule the question names."""

    lexical_weight: float = 0.5
    passage_weight: float = 0.5
    reference_bonus: float = 0.3
    # At most this many units are chosen, those within ``margin`` of the best one.
    max_units: int = 4
    margin: float = 0.3
    # Below this best score the sources are taken not to answer the question.
    min_score: float = 0.6
    # A heading or fragment this short is read together with the sentence that follows it.
    min_words: int = 5
    # A lead-in ("... shall include:") takes the items that follow it, up to this many characters.
    max_chars: int = 1200
    # A passage this short is quoted whole: its sentences seldom make sense apart, and a
    # question's answer often takes more than one of them.
    whole_passage_chars: int = 1200
    # A unit that states the kind of answer the question asks for (a time limit, an amount)
    # scores this much more; when even the best does not state one, the sources do not answer.
    kind_bonus: float = 0.2
    require_kind: bool = True


@dataclass(frozen=True)
class EvidenceChoice:
    units: list[Evidence]  # best first, numbered 1..n
    best_score: float  # of every unit considered (0 when there was none)
    considered: int
    # Why the sources were taken not to answer: "weak" or "no_answer_of_kind" here; the
    # pipeline adds "not_in_sources" and "beyond_rules" for questions it never scores.
    unanswered: str = ""

    @property
    def weak(self) -> bool:
        return not self.units


_ITEM_RE = re.compile(r"^\s*(?:\((?P<paren>\w{1,5})\)|(?P<plain>\w{1,3})[.)]|(?P<bullet>[-•*]))\s")
_LEAD_IN_RE = re.compile(r"(?::|,|--|—|–)\s*$")
_HEADING_END_RE = re.compile(r"(?:--|—|–)\s*$")


def _item_kind(text: str) -> tuple[str, int] | None:
    """The kind of list marker ``text`` starts with ("digit", "lower", "upper", "lower-roman",
    "upper-roman", "bullet") and its ordinal: "(c)" is ("lower", 3), "(iv)" ("lower-roman", 4)."""
    match = _ITEM_RE.match(text)
    if match is None:
        return None
    if match.group("bullet"):
        return "bullet", 0
    marker = match.group("paren") or match.group("plain")
    if marker.isdigit():
        return "digit", int(marker)
    # Roman numerals are a level of their own ("(b) ... (1) ... (i) ... (A)").
    if re.fullmatch(r"[ivxl]+|[IVXL]+", marker) and marker not in {"l", "L"}:
        return ("upper" if marker.isupper() else "lower") + "-roman", _roman(marker.lower())
    if len(marker) == 1 and marker.isalpha():
        return ("upper" if marker.isupper() else "lower"), ord(marker.lower()) - ord("a") + 1
    return "other", 0


def _roman(numeral: str) -> int:
    values = {"i": 1, "v": 5, "x": 10, "l": 50}
    total = 0
    for index, letter in enumerate(numeral):
        value = values[letter]
        following = values[numeral[index + 1]] if index + 1 < len(numeral) else 0
        total += -value if value < following else value
    return total


def _is_heading(
    text: str, sentences: list[tuple[int, int, int]], index: int, min_words: int
) -> bool:
    """A fragment, a title ending in a dash, or a numbered paragraph's title ("(2) Breaches
    treated as discovered.") with the paragraph's text after it."""
    start, end, paragraph = sentences[index]
    words = len(text[start:end].split())
    if words < min_words or _HEADING_END_RE.search(text[start:end]):
        return True
    followed = index + 1 < len(sentences) and sentences[index + 1][2] == paragraph
    return followed and words <= 8 and _item_kind(text[start:end]) is not None


def units_of(text: str, *, min_words: int = 5, max_chars: int = 1200) -> list[tuple[int, int]]:
    """The quotable units of a passage, as (start, end) offsets: each sentence (a short heading
    read together with the sentence after it), and each list with its lead-in: a paragraph that
    ends in a colon, comma or dash ("... shall include:", "(ii) For a violation due to reasonable
    cause,") together with the items under it, up to ``max_chars``. A list's units overlap its
    items' own sentences; choosing one of them excludes the others."""
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    return _sentence_units(text, paragraphs, min_words) + _list_units(text, paragraphs, max_chars)


def _sentence_units(
    text: str, paragraphs: list[tuple[int, int]], min_words: int
) -> list[tuple[int, int]]:
    sentences: list[tuple[int, int, int]] = []  # start, end, paragraph index
    for index, (start, end) in enumerate(paragraphs):
        sentences += [(s, e, index) for s, e in sentence_spans(text, start, end)]
    units: list[tuple[int, int]] = []
    pending_start: int | None = None
    for position, (start, end, _) in enumerate(sentences):
        if position + 1 < len(sentences) and _is_heading(text, sentences, position, min_words):
            # A heading: read on, into the sentence after it.
            pending_start = start if pending_start is None else pending_start
            continue
        units.append((start if pending_start is None else pending_start, end))
        pending_start = None
    return units


def _list_units(
    text: str, paragraphs: list[tuple[int, int]], max_chars: int
) -> list[tuple[int, int]]:
    kinds = [_item_kind(text[start:end]) for start, end in paragraphs]
    units = []
    for index, (start, end) in enumerate(paragraphs):
        if not _LEAD_IN_RE.search(text[start:end]):
            continue
        # The lead-in's own item and the last item of each kind above it: the list ends at the
        # next sibling of any of them ("(ii) ...--" ends at "(iii)", and at "(4)" under "(3)").
        open_items = {kind[0]: kind[1] for kind in kinds[: index + 1] if kind is not None}
        last = end
        for (_, item_end), kind in zip(paragraphs[index + 1 :], kinds[index + 1 :], strict=True):
            if (
                kind is None
                or item_end - start > max_chars
                or _closes(open_items, kinds[index], kind)
            ):
                break
            last = item_end
        if last > end:
            units.append((start, last))
    return units


def _closes(
    open_items: dict[str, int], lead_in: tuple[str, int] | None, item: tuple[str, int]
) -> bool:
    """Whether ``item`` is a later sibling of the lead-in or the next one of an item above it."""
    if lead_in is not None and item[0] == lead_in[0]:
        return item[1] > lead_in[1]
    return item[0] in open_items and item[1] == open_items[item[0]] + 1


def choose(
    question: str,
    passages: Sequence[PassageLike],
    *,
    embed: Callable[[list[str]], np.ndarray],
    settings: EvidenceSettings | None = None,
) -> EvidenceChoice:
    """The units of ``passages`` (best first, as retrieved) that best answer ``question``, or
    none when the sources do not answer it: the best is weaker than ``settings.min_score``, or
    the question asks for a kind of answer (a time limit, an amount) that the best does not
    state."""
    settings = settings or EvidenceSettings()
    kind, time_unit = asks_for(question), asks_for_unit(question)
    scored = _scored(question, passages, kind, time_unit, embed=embed, settings=settings)
    if not scored:
        return EvidenceChoice([], 0.0, 0, "weak")
    best, best_passage, best_start, best_end = scored[0]
    if best < settings.min_score:
        return EvidenceChoice([], best, len(scored), "weak")
    if (
        settings.require_kind
        and kind
        and not gives(best_passage.text[best_start:best_end], kind, time_unit)
    ):
        # Even with the bonus for it, the best unit does not state what was asked.
        return EvidenceChoice([], best, len(scored), "no_answer_of_kind")
    return EvidenceChoice(_chosen(scored, settings), best, len(scored))


def _scored(
    question: str,
    passages: Sequence[PassageLike],
    kind: str | None,
    time_unit: str | None,
    *,
    embed: Callable[[list[str]], np.ndarray],
    settings: EvidenceSettings,
) -> list[tuple[float, PassageLike, int, int]]:
    """Every unit of the passages with its score, best first."""
    candidates = [
        (passage, start, end)
        for passage in passages
        for start, end in units_of(
            passage.text, min_words=settings.min_words, max_chars=settings.max_chars
        )
        # An unfinished sentence is no evidence alone; its list unit holds what it leads into.
        if not _LEAD_IN_RE.search(passage.text[start:end])
    ]
    if not candidates:
        return []
    vectors = embed([question] + [passage.text[start:end] for passage, start, end in candidates])
    similarity = vectors[1:] @ vectors[0]
    asked = set(content_words(question))
    asked_rules = {ref.split(" ", 1)[-1] for ref in references(question)}
    scored = []
    for (passage, start, end), cosine in zip(candidates, similarity, strict=True):
        unit = passage.text[start:end]
        lexical = len(asked & set(content_words(unit))) / len(asked) if asked else 0.0
        cited = " ".join(references(f"{passage.citation} {unit}"))
        score = (
            float(cosine)
            + settings.lexical_weight * lexical
            + settings.passage_weight * passage.score
            + (settings.reference_bonus if any(rule in cited for rule in asked_rules) else 0.0)
            + (settings.kind_bonus if kind and gives(unit, kind, time_unit) else 0.0)
        )
        scored.append((score, passage, start, end))
    return sorted(scored, key=lambda item: -item[0])


def _chosen(
    scored: list[tuple[float, PassageLike, int, int]], settings: EvidenceSettings
) -> list[Evidence]:
    """The best units, numbered: at most ``max_units``, within ``margin`` of the best, none
    inside another's quote; a short passage is quoted whole."""
    best = scored[0][0]
    chosen: list[Evidence] = []
    for score, passage, start, end in scored:
        if len(chosen) == settings.max_units or score < best - settings.margin:
            break
        quote = (
            (0, len(passage.text))
            if len(passage.text) <= settings.whole_passage_chars
            else (start, end)
        )
        if any(e.passage is passage and e.start < quote[1] and quote[0] < e.end for e in chosen):
            continue  # the same text, or a part of it, is already chosen
        chosen.append(Evidence(len(chosen) + 1, passage, *quote, score, start, end))
    return chosen
