"""The leaner analyzer engine finds what Presidio's own engine finds, with the same scores."""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer

from compliance import pii
from compliance.analyzer_engine import ContextOnceAnalyzerEngine
from compliance.recognizers import PhoneNumberRecognizer, cued_phone_recognizer

TEXTS = [
    # Context words raise Presidio's scores here: a phone number, a passport, a bank account.
    "Call me on my mobile phone, number 212-555-0199, before Friday.",
    "Her passport number is 912803456 and her bank account 4020 1234 5678.",
    "Card 4111 1111 1111 1111 was charged; contact maria@example.org or 10.0.0.7.",
    "Dr. Ana Ruiz saw the patient at St. Mary's Hospital in Boston on 03/04/2024.",
    "No personal data here: a covered entity must notify within 60 days.",
]


@pytest.fixture(scope="module")
def engines():
    nlp_engine = pii.analyzer().nlp_engine
    own = ContextOnceAnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    stock = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    return own, stock


def _found(engine, text):
    return [
        (r.entity_type, r.start, r.end, round(r.score, 4))
        for r in engine.analyze(text=text, language="en")
    ]


@pytest.mark.parametrize("text", TEXTS)
def test_results_and_scores_are_presidios_own(engines, text):
    own, stock = engines
    assert sorted(_found(own, text)) == sorted(_found(stock, text))


def test_a_context_word_still_raises_a_score(engines):
    own, _ = engines
    scores = {r.entity_type: r.score for r in own.analyze(text=TEXTS[1], language="en")}
    # Presidio scores a bare nine-digit run as a passport at 0.05; "passport" lifts it.
    assert scores["US_PASSPORT"] >= 0.4


def test_a_recognizer_added_later_is_used_at_once(engines):
    own, _ = engines
    text = "Locker code QX-7781 is on the form."
    own.analyze(text=text, language="en", entities=["PERSON"])  # remembered without it
    own.registry.add_recognizer(
        PatternRecognizer(
            supported_entity="PERSON",
            name="LockerTestRecognizer",
            patterns=[Pattern("locker", r"QX-\d{4}", 0.9)],
        )
    )
    try:
        assert ("PERSON", 12, 19, 0.9) in _found_for(own, text, ["PERSON"])
    finally:
        own.registry.remove_recognizer("LockerTestRecognizer")
    assert ("PERSON", 12, 19, 0.9) not in _found_for(own, text, ["PERSON"])


def _found_for(engine, text, entities):
    return [
        (r.entity_type, r.start, r.end, round(r.score, 4))
        for r in engine.analyze(text=text, language="en", entities=entities)
    ]


def test_presidios_phone_matcher_runs_only_where_a_context_word_could_count():
    recognizer = cued_phone_recognizer()
    assert recognizer.analyze("Phone: 212-555-0199", ["PHONE_NUMBER"])
    assert recognizer.analyze("Telephone 212-555-0199", ["PHONE_NUMBER"])
    # Without a context word its 0.4 could never reach the PHONE_NUMBER threshold.
    assert recognizer.analyze("Ref 212-555-0199", ["PHONE_NUMBER"]) == []


def test_a_number_only_presidios_matcher_finds_is_still_redacted():
    text = "Her number is 020 7946 0958."
    # Our own phone recognizer has no cue here ("number" is too common a word for it).
    assert PhoneNumberRecognizer().analyze(text, ["PHONE_NUMBER"]) == []
    assert pii.screen_input(text, pii.PseudonymVault()).counts == {"PHONE_NUMBER": 1}
