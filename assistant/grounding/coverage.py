"""Whether the sources can speak to what a question is about at all. Many questions the corpus
does not answer name a regime or a rule it never mentions: "Under CIRCIA, how many hours ...?",
"What consent does 42 CFR Part 2 require ...?". Retrieval still finds the nearest rule on the
subject (HIPAA's breach notice, its consent rule), and quoting that would answer a question
about one law with another. When the question names such a thing, the service abstains and
says what the sources do not mention.

Only names a question gives as the law it asks about count: an acronym after "under" or
"according to", before "Act", "Rule" or "Regulations", or with a possessive rule ("ONC's
information blocking rule"), and rule references. An acronym anywhere else ("our EHR", "the
ICU") says nothing about the law asked about. An acronym counts as mentioned when the corpus
writes it or spells it out ("POCA" for "Proceeds of Crime Act"); a reference, when the corpus
cites the same rule or a part of it.

A law's name spelled out ("the Corporate Transparency Act") counts as mentioned when the corpus
writes its initials or uses its distinctive words together, in any order and form: the HIPAA
text never says "Breach Notification Rule" but writes "notification in the case of breach".
Two-word names ("the Security Rule") are not looked up, since the regulation's text rarely
uses its own common name. A place given as a law-maker ("Texas law", "the Florida medical
board") counts when the corpus names it; the countries the service covers always do, since
their sources are its law. Guidance cited by its number ("EDPB Recommendations 01/2020") and a
court ruling named by its case ("the Latombe judgment") count when the corpus cites them.
Everything here reads the redacted question."""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.grounding.claims import references
from compliance.citations import CITATION_RE, DOCUMENT_NUMBER_RE
from compliance.pii import SERVICE_COUNTRY_NAMES

# A token that reads as an abbreviation: two capitals or more ("CIRCIA", "MLRs", "EU-US"), or
# a capitalised word with a digit ("NIS2").
_ABBREVIATION_RE = re.compile(r"^(?:[A-Z][A-Za-z-]*[A-Z][A-Za-z-]*|[A-Z][A-Za-z]*\d+[A-Za-z\d]*)$")
_NAME = r"[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|of|and|for|on|the|\d+)){0,6}"
_NAMED_AS_LAW = [
    re.compile(rf"\b(?:[Uu]nder|[Aa]ccording\s+to)\s+(?:the\s+)?(?P<name>{_NAME})"),
    re.compile(
        r"\b(?P<name>(?:[A-Z][\w'’-]*\s+){1,6})"
        r"(?:Act|Acts|Rule|Rules|Regulation|Regulations|Code|Directive|Decree(?:-Law)?)\b"
    ),
    re.compile(
        r"\b(?P<name>[A-Z][\w-]*)['’]s\s+(?:[a-z-]+\s+){0,3}"
        r"(?:rules?|regulations?|guidance|bulletin|code|law|act|requirements?)\b"
    ),
]
# A CFR or U.S. Code title: "42 CFR Part 2" names title 42 even where "Part 2" is common.
_CODE_TITLE_RE = re.compile(r"\b\d+\s+(?:CFR|C\.F\.R\.|U\.S\.C\.|USC)\b")
# A law, a rule book or a body spelled out: capitalised words ending in what kind it is.
_SPELLED_NAME_RE = re.compile(
    r"\b(?P<name>(?:[A-Z][\w'’-]*\s+(?:(?:of|for|and|on|the)\s+)*){1,7}"
    r"(?:Act|Rule|Regulation|Code|Directive|Decree|Law|Board|Commission|Framework|Shield)s?)\b"
)
# A place named as the maker of a law: "Texas law", "the Florida medical board".
_LAW_MAKER_RE = re.compile(
    r"\b(?P<place>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)(?:['’]s)?\s+"
    r"(?:(?:state|federal|breach|privacy|data\s+protection)\s+)?"
    r"(?:laws?|legislator|legislature|statutes?|medical\s+board|health\s+department"
    r"|attorney\s+general)\b"
)
# A court ruling by the name of its case: "the Latombe judgment", "the CJEU's <PERSON_1>
# ruling" (the parties' names are redacted), "Schrems II". Not a possessive: "<PERSON_1>'s
# judgment" is a client's, and "the Court's judgment" names no case.
_RULING_RE = re.compile(
    r"(?P<name>\b[A-Z][\w-]+(?:\s+II?)?|<PERSON_\d+>)\s+(?:ruling|judge?ment)\b"
)
# Capitalised only because a sentence starts with them.
_STARTERS = frozenset(
    "under according does do is are can could may must should what which when how whose "
    "our the a an in for besides after if".split()
)
# Words that place the question in a country the service covers: its sources are that law.
_SERVICE_PLACE_WORDS = frozenset(
    word for name in SERVICE_COUNTRY_NAMES for word in name.split() if word != "the"
) | frozenset("english british american scottish welsh emirati federal state".split())
# How near a name's distinctive words must be to one another in a passage to count as it.
_NAME_WINDOW = 12
_SPELLED_OUT_RE = re.compile(r"[A-Z][a-z]+(?:(?:\s+(?:of|and|for|the|on|in))*,?\s+[A-Z][a-z]+)+")
_SMALL_WORDS = frozenset({"of", "and", "for", "the", "on", "in"})


@dataclass(frozen=True)
class CorpusNames:
    """What a corpus mentions, in lower case: its words, its abbreviations (written, or made
    from the initials of names it spells out), the rules it cites (without their paragraph
    parts), the CFR and U.S. Code titles it cites, each text's words in order, and the
    numbers of documents it cites ("2016/679")."""

    words: frozenset[str]
    abbreviations: frozenset[str]
    rules: frozenset[str]
    code_titles: frozenset[str]
    texts: tuple[tuple[str, ...], ...] = ()
    document_numbers: frozenset[str] = frozenset()


def corpus_names(texts: Iterable[str]) -> CorpusNames:
    words: set[str] = set()
    abbreviations: set[str] = set()
    rules: set[str] = set()
    titles: set[str] = set()
    in_order: list[tuple[str, ...]] = []
    document_numbers: set[str] = set()
    for text in texts:
        document_numbers.update(re.findall(r"\b\d+/\d+\b", text))
        tokens = _words(text)
        in_order.append(tuple(sys.intern(word) for word in tokens))
        words.update(tokens)
        abbreviations.update(_initials(text))
        rules.update(_rule(reference) for reference in references(text))
        titles.update(_title(title) for title in _CODE_TITLE_RE.findall(text))
    return CorpusNames(
        frozenset(words),
        frozenset(abbreviations),
        frozenset(rules),
        frozenset(titles),
        tuple(in_order),
        frozenset(document_numbers),
    )


def missing_names(question: str, corpus: CorpusNames) -> list[str]:
    """The regimes and rules ``question`` asks about that the corpus never mentions, as the
    question writes them, in order."""
    missing = [token for token in _named_abbreviations(question) if not _mentioned(token, corpus)]
    missing += [
        title
        for title in _CODE_TITLE_RE.findall(question)
        if _title(title) not in corpus.code_titles
    ]
    missing += [
        match.group(0)
        for match in _references_in(question)
        if not _rule_cited(_rule(references(match.group(0))[0]), corpus.rules)
    ]
    # A spelled-out name holding an abbreviation already missing is said by that abbreviation.
    # "The sources do not mention the Corporate Transparency Act": a name takes its article.
    missing += [
        f"the {name}"
        for written, name in _spelled_names(question)
        if not set(written) & set(missing) and not _spelled_name_mentioned(name, corpus)
    ]
    missing += [place for place in _law_makers(question) if not _place_mentioned(place, corpus)]
    missing += [
        match.group(0)
        for match in DOCUMENT_NUMBER_RE.finditer(question)
        if match.group("number") not in corpus.document_numbers
    ]
    missing += [name for name in _rulings(question) if name.lower() not in corpus.words]
    return list(dict.fromkeys(missing))


def _rulings(question: str) -> list[str]:
    # "Schrems II" is looked up as "Schrems".
    names = [match.group("name").split()[0] for match in _RULING_RE.finditer(question)]
    return [name for name in names if name.lower() not in _STARTERS]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z\d]*", text.lower())


def _spelled_names(question: str) -> list[tuple[list[str], str]]:
    """The names of laws, rule books and bodies the question spells out, each as written and
    as looked up: without the words that only start its sentence and the abbreviations before
    them ("HIPAA Breach Notification Rule" is looked up as "Breach Notification Rule"; "HIPAA"
    is looked up on its own)."""
    names = []
    for match in _SPELLED_NAME_RE.finditer(question):
        written = [re.sub(r"['’]s$", "", word) for word in match.group("name").split()]
        names.append((written, " ".join(_without_starters(written, abbreviations=True))))
    return names


def _spelled_name_mentioned(name: str, corpus: CorpusNames) -> bool:
    words = _words(name)
    distinctive = [w for w in dict.fromkeys(words[:-1]) if w not in _SMALL_WORDS]
    if len(distinctive) < 2:
        return True
    # "SRA" for "Solicitors Regulation Authority Code", "HIPAA" for the Act spelled out.
    initials = {
        "".join(word[0] for word in kept if keep_small or word not in _SMALL_WORDS)
        for kept in (words, words[:-1])
        for keep_small in (True, False)
    }
    if {i for i in initials if len(i) >= 3} & corpus.words:
        return True
    if not set(distinctive) <= corpus.words:
        return False
    return any(_near_one_another(distinctive, text) for text in corpus.texts)


def _near_one_another(words: list[str], text: tuple[str, ...]) -> bool:
    """Whether every one of ``words`` occurs within ``_NAME_WINDOW`` words of one place in
    ``text``, in any order."""
    if not set(words) <= set(text):
        return False
    positions = {word: [i for i, token in enumerate(text) if token == word] for word in words}
    anchor = min(words, key=lambda word: len(positions[word]))
    return any(
        all(any(abs(i - at) <= _NAME_WINDOW for i in positions[word]) for word in words)
        for at in positions[anchor]
    )


def _law_makers(question: str) -> list[str]:
    places = [
        _without_starters(match.group("place").split())
        for match in _LAW_MAKER_RE.finditer(question)
    ]
    return [" ".join(place) for place in places if place]


def _without_starters(words: list[str], *, abbreviations: bool = False) -> list[str]:
    while words and (
        words[0].lower() in _STARTERS or (abbreviations and _ABBREVIATION_RE.match(words[0]))
    ):
        words = words[1:]
    return words


def _place_mentioned(place: str, corpus: CorpusNames) -> bool:
    words = place.lower().split()
    return any(word in _SERVICE_PLACE_WORDS for word in words) or all(
        word in corpus.words for word in words
    )


def _named_abbreviations(question: str) -> list[str]:
    found = []
    for pattern in _NAMED_AS_LAW:
        for match in pattern.finditer(question):
            name = re.sub(r"['’]s\b", "", match.group("name"))
            found += [t for t in re.findall(r"[A-Za-z][\w-]*", name) if _ABBREVIATION_RE.match(t)]
    return list(dict.fromkeys(found))


def _mentioned(token: str, corpus: CorpusNames) -> bool:
    # "MLRs" is the plural of "MLR".
    bare = token[:-1] if token.endswith("s") and token[:-1].isupper() else token
    forms = {token.lower(), bare.lower(), bare.lower().replace("-", "")}
    # "Anti-Money" is two words the corpus has, not an abbreviation.
    parts = token.lower().split("-")
    return (
        bool(forms & corpus.abbreviations)
        or bool(forms & corpus.words)
        or (len(parts) > 1 and all(part in corpus.words for part in parts))
    )


def _references_in(question: str) -> list[re.Match]:
    """The rule references of the question worth looking up: not the "Part 2" of "42 CFR Part
    2" (its title is looked up instead), nor "Regulation 2016" or "Chapter 5", which corpora
    write in too many ways ("Regulation (EU) 2016/679")."""
    title_ends = [m.end() for m in _CODE_TITLE_RE.finditer(question)]
    return [
        match
        for match in CITATION_RE.finditer(question)
        if not any(end < match.start() <= end + 2 for end in title_ends)
        and not re.match(r"(?i)regulation|part|chapter", match.group(0))
    ]


def _rule_cited(rule: str, rules: frozenset[str]) -> bool:
    return rule in rules or any(other.startswith(rule) for other in rules)


def _rule(reference: str) -> str:
    """A normalised reference without its paragraph parts: "164.404" for "164.404(b)"."""
    return re.sub(r"(?:\([a-z0-9]+\))+$", "", reference)


def _title(title: str) -> str:
    return re.sub(r"\s+", " ", title.replace("C.F.R.", "CFR").replace("USC", "U.S.C.")).lower()


def _initials(text: str) -> set[str]:
    """Abbreviations the text writes, and those its capitalised names make: "Proceeds of Crime
    Act" gives "poca", "pca" and the initials of every run of two or more of its words."""
    found = {token.lower() for token in re.findall(r"\b[A-Z][A-Z\d]+\b", text)}
    for match in _SPELLED_OUT_RE.finditer(text):
        words = re.findall(r"[A-Za-z]+", match.group(0))
        for kept in (words, [w for w in words if w not in _SMALL_WORDS]):
            for start, end in itertools.combinations(range(len(kept) + 1), 2):
                if end - start >= 2:
                    found.add("".join(word[0] for word in kept[start:end]).lower())
    return found


def not_mentioned_lead(missing: list[str]) -> str:
    """The abstention's first sentence when the sources never mention what was asked about.
    It names the abbreviations; a name with a number in it ("42 CFR", "NIS2") is not repeated,
    since an answer states no number that its sources do not."""
    named = [name for name in missing if not re.search(r"\d", name)]
    if not named:
        return (
            "The sources for this domain do not mention the law or rule this question names, "
            "so they do not answer it."
        )
    names = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
    return (
        f"The sources for this domain do not mention {names}, so they do not answer this question."
    )
