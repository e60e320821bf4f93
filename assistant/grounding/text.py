"""Sentences, words and stems of regulatory English, for evidence selection and verification."""

from __future__ import annotations

import re

# Tokens that end in a full stop without ending a sentence ("Art. 33", "45 C.F.R. 164", "e.g.").
ABBREVIATIONS = frozenset(
    "art arts no nos e.g i.e etc sec secs para paras cf vs v mr mrs ms dr st inc ltd co corp "
    "jr sr p pp reg regs fed ch approx u.s c.f.r u.s.c u.k e.u min max fig al".split()
)
_SENTENCE_END_RE = re.compile(
    r"[.!?](?:[\"'\u201d\u2019)\]]*)(?=\s+[\"'\u201c\u2018(\[]?[A-Z0-9<§])"
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]*")
_PLACEHOLDER_RE = re.compile(r"<[A-Z][A-Z_]*_(?:\d+|REDACTED)>")

STOPWORDS = frozenset(
    """a an the and or nor but if then than that this these those there here of to in on at by
    for from with within without into onto upon under over about after before between through
    during against among is are was were be been being am do does did done has have had having
    it its it's they them their theirs he him his she her hers we us our ours you your yours i
    me my mine who whom whose which what when where why how all any both each either neither
    every some such no not only own same so too very just also as can could may might must
    shall should will would need needs one ones other another more most less least much many
    few per via whether while until unless because since though although yet still even ever
    never again further once out off up down""".split()
)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]`` as (start, end) offsets into ``text``, stripped."""
    end = len(text) if end is None else end
    spans = []
    position = start
    for match in _SENTENCE_END_RE.finditer(text, start, end):
        if _is_abbreviation(text, match.start()):
            continue
        spans.append((position, match.end()))
        position = match.end()
    spans.append((position, end))
    return [stripped for span in spans if (stripped := _strip(text, *span))]


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word = re.search(r"([A-Za-z.]+)$", text[max(0, dot - 12) : dot])
    if word is None:
        return False
    token = word.group(1).lower().strip(".")
    # A single letter ("J. Smith", "(a). ") or a known abbreviation.
    return len(token) == 1 or token in ABBREVIATIONS


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def stem(word: str) -> str:
    """A crude stem: enough that "notify", "notifies", "notified" and "notification" meet."""
    word = word.lower().strip("'-")
    for suffix in ("ications", "ication", "ations", "ation", "ments", "ment", "ings", "ing",
                   "ied", "ies", "ed", "es", "s", "y"):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word


def content_words(text: str) -> list[str]:
    """The stems of ``text``'s words that carry content, in order (placeholders dropped)."""
    text = _PLACEHOLDER_RE.sub(" ", text)
    return [
        stem(word)
        for word in _WORD_RE.findall(text)
        if word.lower() not in STOPWORDS and len(word) > 1
    ]
