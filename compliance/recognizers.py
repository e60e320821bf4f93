"""Our own Presidio recognizers for identifiers that regulated text carries.

Presidio's pattern recognizer scores the whole regex match. Identifiers such as record numbers
are only recognisable by the words around them ("MRN 4455667"), yet only the number itself is
personal data, so these recognizers match context and value together and report the span of the
``value`` group alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts


@dataclass(frozen=True)
class ValuePattern:
    name: str
    regex: str
    score: float


class ValueGroupRecognizer(EntityRecognizer):
    """Regex recognizer whose result is the named group ``value`` of each match."""

    def __init__(self, *, entity: str, patterns: list[ValuePattern], name: str) -> None:
        self.patterns = patterns
        self._compiled = [(p, re.compile(p.regex, re.IGNORECASE)) for p in patterns]
        super().__init__(supported_entities=[entity], name=name, supported_language="en")

    def load(self) -> None:  # nothing to load; patterns compile in __init__
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        entity = self.supported_entities[0]
        for pattern, compiled in self._compiled:
            for match in compiled.finditer(text):
                start, end = match.span("value")
                if start == end:
                    continue
                explanation = AnalysisExplanation(
                    recognizer=self.name,
                    original_score=pattern.score,
                    pattern_name=pattern.name,
                    pattern=pattern.regex,
                )
                results.append(
                    RecognizerResult(
                        entity_type=entity,
                        start=start,
                        end=end,
                        score=pattern.score,
                        analysis_explanation=explanation,
                        # The context is part of the pattern; Presidio must not boost it again.
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
                        },
                    )
                )
        return results


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)


def medical_record_number_recognizer() -> ValueGroupRecognizer:
    return ValueGroupRecognizer(
        entity="MEDICAL_RECORD_NUMBER",
        name="MedicalRecordNumberRecognizer",
        patterns=[
            ValuePattern(
                "mrn_with_label",
                r"\b(?:MRN|medical\s+record(?:\s+(?:number|no\.?|num\.?|#))?|patient\s+(?:id|number|no\.?))"
                r"\s*(?:is|:|#|no\.?)?\s*(?P<value>[A-Z]{0,3}-?\d{4,12})\b",
                0.95,
            )
        ],
    )


def us_ssn_recognizer() -> ValueGroupRecognizer:
    # Presidio's own SSN recognizer rejects numbers outside the issued ranges; a number the
    # writer labels as an SSN is still personal data and is redacted whatever its digits.
    return ValueGroupRecognizer(
        entity="US_SSN",
        name="LabelledSsnRecognizer",
        patterns=[
            ValuePattern(
                "ssn_with_label",
                r"\b(?:SSN|social\s+security(?:\s+(?:number|no\.?|#))?)\s*(?:is|:|#)?\s*"
                r"(?P<value>\d{3}[- ]?\d{2}[- ]?\d{4})\b",
                0.95,
            )
        ],
    )


def phone_number_recognizer() -> ValueGroupRecognizer:
    return ValueGroupRecognizer(
        entity="PHONE_NUMBER",
        name="FormattedPhoneRecognizer",
        patterns=[
            # North American numbers written with separators: (555) 123-4567, 555-123-4567.
            ValuePattern(
                "nanp",
                r"(?<![\w.])(?P<value>(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4})(?![\w.])",
                0.7,
            ),
            # International numbers with a leading +country code: +44 20 7946 0958.
            ValuePattern(
                "international",
                r"(?<![\w+])(?P<value>\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,5})(?![\w])",
                0.6,
            ),
            ValuePattern(
                "labelled",
                r"\b(?:phone|tel(?:ephone)?|mobile|cell|fax)\s*(?:no\.?|number|#)?\s*[:.]?\s*"
                r"(?P<value>\+?[\d()][\d ().-]{6,18}\d)",
                0.9,
            ),
        ],
    )


def date_recognizer() -> ValueGroupRecognizer:
    """Calendar dates, not durations: '60 days' and 'annually' are not personal data, but
    '03/04/1961' and 'March 3, 2024' can identify a person (HIPAA 164.514(b)(2)(i)(C))."""
    return ValueGroupRecognizer(
        entity="DATE",
        name="CalendarDateRecognizer",
        patterns=[
            ValuePattern(
                "numeric",
                r"(?<![\w./-])(?P<value>\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2}))(?![\w/-])",
                0.75,
            ),
            ValuePattern("iso", r"(?<![\w-])(?P<value>(?:19|20)\d{2}-\d{2}-\d{2})(?![\w-])", 0.8),
            ValuePattern(
                "month_day_year",
                rf"\b(?P<value>{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b",
                0.7,
            ),
            ValuePattern(
                "day_month_year",
                rf"\b(?P<value>\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?)\b",
                0.7,
            ),
            ValuePattern(
                "labelled_birth",
                r"\b(?:born(?:\s+on|\s+in)?|DOB|date\s+of\s+birth)\s*[:\-]?\s*(?P<value>[\w ,./-]{4,20}?\d{4})\b",
                0.9,
            ),
        ],
    )


def street_address_recognizer() -> ValueGroupRecognizer:
    # Safe Harbor lists street addresses among the identifiers (164.514(b)(2)(i)(B)).
    return ValueGroupRecognizer(
        entity="STREET_ADDRESS",
        name="StreetAddressRecognizer",
        patterns=[
            ValuePattern(
                "number_street_suffix",
                r"\b(?P<value>\d{1,6}[A-Z]?\s+(?:[A-Z][\w'-]*\.?\s+){1,4}"
                r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"
                r"Way|Terrace|Parkway|Pkwy|Square|Sq|Highway|Hwy|Close|Crescent|Gardens|Row)\b\.?"
                r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat)\.?\s*#?\w+)?)",
                0.85,
            )
        ],
    )


def own_recognizers() -> list[EntityRecognizer]:
    return [
        street_address_recognizer(),
        medical_record_number_recognizer(),
        us_ssn_recognizer(),
        phone_number_recognizer(),
        date_recognizer(),
    ]
