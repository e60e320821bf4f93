"""Personal details written beside a name, which no recognizer can tell apart on their own:
"Emilie Broberg, 81, Polish, Talking-books clerk, 433 5227". A bare "81" or "433 5227" is not
personal data anywhere else; right after a detected name (or a title or age that follows one)
it is. Each finder reads the text that follows a span already found and returns new spans as
``(entity type, start, end, score)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from compliance.citations import rule_name_spans

Span = tuple[str, int, int, float]

# Nationalities named by the adjective of a country the service covers. Beside "law" they name
# a jurisdiction ("German law") and stay; beside a person they are personal data.
NATIONALITY_ADJECTIVES = frozenset(
    (
        "American Californian European British English Scottish Welsh German French Italian "
        "Spanish Irish Dutch Belgian Austrian Polish Swedish Danish Finnish Portuguese Greek "
        "Emirati Swiss Canadian"
    )
    .lower()
    .split()
)

# "a German candidate", "Finnish national": the adjective describes someone.
PERSON_NOUN_AFTER_RE = re.compile(
    r"\s+(?:national|citizen|male|female|man|woman|boy|girl|candidate|patient|customer|client|"
    r"resident|subject|applicant|employee|nationals|citizens|men|women|patients|customers)\b",
    re.IGNORECASE,
)

# A job title as an apposition: "Mike Hermansen, the property appraiser," or a signature's
# "Jane Roe, Compliance Officer, Acme", or "(Clinical psychologist)". It must read as a noun
# phrase, which the tagger decides.
TITLE_AFTER_NAME_RE = re.compile(
    r"(?:,|\s*\()\s*(?:(?:the|our|a|an|his|her|their|my)\s+)?"
    r"(?P<value>[^\W\d_][\w&/'’-]*(?:\s+[^\W\d_][\w&/'’-]*){0,5}?)"
    r"(?=\s*[,;.:)\n]|\s+(?:at|of|for|with|in|from)\b|\s*$)"
)
TITLE_WORD_TAGS = frozenset({"NOUN", "PROPN", "ADJ", "CCONJ"})
# Participles read as adjectives in titles: "Certified respiratory therapist".
TITLE_PARTICIPLE_TAGS = frozenset({"VBN", "VBG"})
# "Emilie Broberg, 81, ..."
AGE_AFTER_NAME_RE = re.compile(r",\s+(?P<value>1[01]\d|[1-9]?\d)(?=\s*[,;)])")
# A telephone number closing a signature: "Felicia Eriksson, 433 5227", "Bartender, 0613-4185803".
PHONE_AFTER_SIGNATURE_RE = re.compile(
    r",\s+(?P<value>\+?\(?\d[\d ().-]{5,18}\d)(?=\s*(?:[,;.]\s|[,;.]?$|\n|\s+(?:or|and)\b))"
)
# "Davi Santos, 21, Polish, presenting ..."
NATIONALITY_AFTER_RE = re.compile(r"(?:,|\()\s*(?P<value>[A-Z][a-z]+)(?=\s*[,)])")


# "Regional planner at Quality Merchant Services", "lawyer James Rodrigues at Purity Supreme",
# "Jacob Llewelyn of TOKYO KOKI": where a person or a job title is "at" or "of" a named place
# that is not a town, it is their employer.
ORGANIZATION_AFTER_RE = re.compile(
    r",?\s+(?:at|of)\s+(?P<value>(?:The\s+)?[A-Z][\w'’&-]*(?:\.[\w'’&-]+)*"
    r"(?:\s+(?:&\s+|of\s+)?[A-Z][\w'’&-]*(?:\.[\w'’&-]+)*){0,5})"
    r"(?=\s*(?:[,.;:!?)\n]|$)|\s+[a-z])"
)


# A signature's place lines below a name: "Gabriela Prošková\n\nVancouver\nCanada". Each line
# a few capitalised words, the block ending the text or followed by a blank line.
PLACE_LINES_BELOW_RE = re.compile(
    r"[ \t]*\n(?:[ \t]*\n)?(?P<value>(?:[ \t]*[^\W\d_a-z][\w'’∆.-]*(?:[ \t]+\(?[^\W\d_][\w'’∆.()-]*)"
    r"{0,3}[ \t]*(?:\n|$)){1,3})(?=\s*$|[ \t]*\n)"
)
NOT_AN_EMPLOYER = frozenset({"DATE", "TIME", "GPE", "LOC", "EVENT"})


def describes_a_person(text: str, end: int) -> bool:
    """Whether the word ending at ``end`` is followed by a noun for a person."""
    return PERSON_NOUN_AFTER_RE.match(text, end) is not None


def details_beside_names(text: str, tokens, spans: list[Span], wanted: set[str]) -> list[Span]:
    """The details of the ``wanted`` types that follow the given spans. Finders run in order,
    each also reading after what the earlier ones found (a phone number after a title)."""
    spans = list(spans)
    added: list[Span] = []
    for entity_type, finder in FINDERS:
        if entity_type in wanted:
            found = finder(text, tokens, spans)
            spans += found
            added += found
    return added


def _after(spans: list[Span], types: set[str]) -> list[int]:
    return [end for entity_type, _, end, _ in spans if entity_type in types]


def _words_after(
    text: str, tokens, spans: list[Span], types: set[str], pattern: re.Pattern
) -> Iterator[tuple[int, int, object]]:
    """Each ``value`` that ``pattern`` finds right after a span of ``types``, with its tokens."""
    for end in _after(spans, types):
        match = pattern.match(text, end)
        if match is None:
            continue
        start, stop = match.span("value")
        words = tokens.char_span(start, stop, alignment_mode="expand")
        if words is not None:
            yield start, stop, words


def _titles(text: str, tokens, spans: list[Span]) -> list[Span]:
    rule_names = rule_name_spans(text)
    return [
        ("TITLE", start, stop, 0.6)
        for start, stop, words in _words_after(text, tokens, spans, {"PERSON"}, TITLE_AFTER_NAME_RE)
        if _is_noun_phrase(words) and not any(start < b and a < stop for a, b in rule_names)
    ]


def _is_noun_phrase(words) -> bool:
    return (
        all(
            token.pos_ in TITLE_WORD_TAGS
            # "Certified respiratory therapist", but not ", seen today".
            or (token.tag_ in TITLE_PARTICIPLE_TAGS and token.text[:1].isupper())
            for token in words
        )
        and words[0].pos_ != "CCONJ"
        and words[-1].pos_ in {"NOUN", "PROPN"}
    )


def _phones(text: str, tokens, spans: list[Span]) -> list[Span]:
    phones = []
    for end in _after(spans, {"PERSON", "TITLE", "ORGANIZATION"}):
        match = PHONE_AFTER_SIGNATURE_RE.match(text, end)
        if match and 7 <= sum(c.isdigit() for c in match.group("value")) <= 15:
            phones.append(("PHONE_NUMBER", *match.span("value"), 0.65))
    return phones


def _employers(text: str, tokens, spans: list[Span]) -> list[Span]:
    found = _words_after(text, tokens, spans, {"PERSON", "TITLE"}, ORGANIZATION_AFTER_RE)
    return [
        ("ORGANIZATION", start, stop, 0.6)
        for start, stop, words in found
        # A name, not a time or a place in the sentence ("at Christmas", "at Leeds").
        if any(token.pos_ == "PROPN" for token in words)
        and not any(token.ent_type_ in NOT_AN_EMPLOYER for token in words)
    ]


def _places_below(text: str, tokens, spans: list[Span]) -> list[Span]:
    places = []
    for end in _after(spans, {"PERSON"}):
        match = PLACE_LINES_BELOW_RE.match(text, end)
        if match:
            start, stop = match.span("value")
            places.append(("LOCATION", start, start + len(match.group("value").rstrip()), 0.6))
    return places


def _ages(text: str, tokens, spans: list[Span]) -> list[Span]:
    return [
        ("AGE", *match.span("value"), 0.7)
        for end in _after(spans, {"PERSON"})
        if (match := AGE_AFTER_NAME_RE.match(text, end))
    ]


def _nationalities(text: str, tokens, spans: list[Span]) -> list[Span]:
    return [
        ("NRP", *match.span("value"), 0.7)
        for end in _after(spans, {"PERSON", "AGE"})
        if (match := NATIONALITY_AFTER_RE.match(text, end))
        and match.group("value").lower() in NATIONALITY_ADJECTIVES
    ]


FINDERS: list[tuple[str, Callable[[str, object, list[Span]], list[Span]]]] = [
    ("TITLE", _titles),
    ("ORGANIZATION", _employers),
    ("LOCATION", _places_below),
    ("PHONE_NUMBER", _phones),
    ("AGE", _ages),
    ("NRP", _nationalities),
]
