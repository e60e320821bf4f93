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


PATTERN_NAME_KEY = "pattern_name"


def context_result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float, pattern: str
) -> RecognizerResult:
    """A result whose score already accounts for its context, so Presidio's context enhancer
    must not raise it again."""
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=recognizer.name, original_score=score, pattern_name=pattern
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
            # Presidio drops the explanation unless asked for the decision process.
            PATTERN_NAME_KEY: pattern,
        },
    )


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
                results.append(
                    context_result(self, entity, start, end, pattern.score, pattern.name)
                )
        return results


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)


_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"


def medical_record_number_recognizer() -> ValueGroupRecognizer:
    return ValueGroupRecognizer(
        entity="MEDICAL_RECORD_NUMBER",
        name="MedicalRecordNumberRecognizer",
        patterns=[
            ValuePattern(
                "mrn_with_label",
                r"\b(?:MRN|medical\s+record(?:\s+(?:number|no\.?|num\.?|#))?|patient\s+(?:id|number|no\.?))"
                r"\s*(?:is|:|#|no\.?)?\s*(?P<value>[A-Z]{0,3}-?\d{3,12}(?:-\d{1,6}){0,3})\b",
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


_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+/.-])(?P<value>\+?(?:\(\d{1,4}\)|\d{1,5})(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){1,5}"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,6})?)(?![\w/]|\.\d|-\d)"
)
# Formats that are telephone numbers without any label: (555) 123-4567, 555-123-4567,
# 555.123.4567, +44 20 7946 0958, 001-555-123-4567, and anything with an extension.
_PHONE_FORMATTED = re.compile(
    r"^(?:\(\d{3}\)\s?\d{3}-\d{4}|\d{3}-\d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}|\+\d.*|00\d.*|.*\d\s?(?:x|ext\.?)\s?\d+)$"
)
_PHONE_CUE_BEFORE = re.compile(
    r"(?:call|called|calling|phone|tel|telephone|fax|mobile|mob|cell|reach|reachable|contact"
    r"|dial|text|answering\s+at|registered|whatsapp|sms|landline)"
    # "Tel. 699 956 915": the abbreviation's full stop may sit between the word and the number.
    r"\b\.?[^.\n]{0,24}$",
    re.IGNORECASE,
)
_PHONE_CUE_AFTER = re.compile(r"^\s*-?\s*(?:office|fax|mobile|home|work|cell)\b", re.IGNORECASE)


class PhoneNumberRecognizer(EntityRecognizer):
    """Telephone and fax numbers in national and international formats: distinctive formats
    anywhere, any 7-15 digit group sequence when a word nearby says it is a number to call."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PHONE_NUMBER"],
            name="PhoneNumberRecognizer",
            supported_language="en",
        )

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        results = []
        for match in _PHONE_CANDIDATE.finditer(text):
            value = match.group("value")
            digits = sum(c.isdigit() for c in re.split(r"\s?(?:x|ext\.?)\s?\d+$", value)[0])
            if not 7 <= digits <= 15:
                continue
            start, end = match.span("value")
            if _PHONE_FORMATTED.match(value):
                score = 0.75
            elif _PHONE_CUE_BEFORE.search(
                text[max(0, start - 40) : start]
            ) or _PHONE_CUE_AFTER.match(text[end : end + 12]):
                score = 0.8
            else:
                continue
            results.append(context_result(self, "PHONE_NUMBER", start, end, score, "phone"))
        return results


def cued_phone_recognizer() -> EntityRecognizer:
    """Presidio's phone number matcher, run only on text that holds one of its context words.

    It scores every match 0.4, under the PHONE_NUMBER threshold, and only a context word near
    the match ("phone", "call", "number" ...) lifts it over; in text without any of those words
    it cannot find anything that counts, yet its matcher tries eight countries' numbering plans
    over every digit run, which made it an eighth of detection time.
    """
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    class CuedPhoneRecognizer(PhoneRecognizer):
        def analyze(self, text, entities, nlp_artifacts=None):
            lowered = text.lower()
            # The context enhancer matches a context word inside a nearby word or its lemma
            # ("phones", "telephone"), so a substring test of the whole text is the wider one.
            if not any(word in lowered for word in self.context):
                return []
            return super().analyze(text, entities, nlp_artifacts)

    return CuedPhoneRecognizer(name="PhoneRecognizer", supported_language="en")


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
            ValuePattern(
                "iso",
                r"(?<![\w-])(?P<value>(?:19|20)\d{2}-\d{2}-\d{2}"
                r"(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?)(?![\w-])",
                0.8,
            ),
            ValuePattern(
                "month_day_year",
                rf"\b(?P<value>(?:{_WEEKDAY},?\s+)?{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b",
                0.7,
            ),
            # A month is a date element too (Safe Harbor keeps only the year): "Apr 2000",
            # "07/2007". The month must be capitalised, so "may 2024" in a sentence is not one.
            ValuePattern(
                "month_year", rf"\b(?P<value>(?-i:(?=[A-Z])){_MONTH}\s+(?:19|20)\d{{2}})\b", 0.7
            ),
            ValuePattern(
                "numeric_month_year",
                r"(?<![\w./-])(?P<value>(?:0?[1-9]|1[0-2])/(?:19|20)\d{2})(?![\w/-])",
                0.7,
            ),
            ValuePattern(
                "day_mon_year", rf"\b(?P<value>\d{{1,2}}-{_MONTH}-(?:\d{{4}}|\d{{2}}))\b", 0.75
            ),
            # The time of an event narrows its date further: "03:43 PM", "21:46", "10 AM".
            ValuePattern(
                "clock_time",
                r"(?<![\w:.])(?P<value>(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s?(?-i:[AP]M|[ap]m|[ap]\.m\.))?)(?![\w:])",
                0.6,
            ),
            ValuePattern(
                "hour_am_pm",
                r"\b(?P<value>(?:0?[1-9]|1[0-2])\s?(?-i:AM|PM|am|pm|a\.m\.|p\.m\.))(?!\w)",
                0.6,
            ),
            ValuePattern(
                "day_month_year",
                rf"\b(?P<value>\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?)\b",
                0.7,
            ),
            ValuePattern(
                "labelled_birth",
                r"\b(?:born(?:\s+on|\s+in)?|DOB|date\s+of\s+birth)\s*[:\-]?\s*(?:is\s+)?(?P<value>[\w ,./-]{4,20}?\d{4})\b",
                0.9,
            ),
        ],
    )


# A capitalised word of a street or place name (a capital, then a small letter: not an acronym
# such as CFR), and the small words that names of streets contain.
# Words that number parts of rules and spans of time ("Section 5 Rule 26") never name a street.
_NAME = (
    r"(?!(?:rules?|article|art|section|sec|part|chapter|title|schedule|form|recital|regulation|"
    r"annex|appendix|paragraph|clause|step|level|tier|phase|item|exhibit|question|page|"
    r"days?|weeks?|months?|years?|hours?|volume|version|grade|stage|type|class|room|floor|"
    r"flight|channel|route|bus|line|platform|gate|unit|model|"
    rf"{_MONTH[3:-4]}|{_WEEKDAY})\b)"
    r"(?-i:[A-ZÀ-ÞΑ-ΩΆ-Ώ][a-zß-ÿα-ωά-ώ])[\w'’.-]*"
)
_PARTICLE = (
    r"(?-i:de|la|del|della|delle|degli|di|du|des|van|von|der|den|nad|pod|u\.|út|gate|vei|vej)"
)
_STREET_NAME_WORD = rf"(?:{_NAME}|{_PARTICLE})"
_NOT_A_YEAR = r"(?!(?:19|20)\d\d\b)"
# What may follow a street line in running text: the flat, then the town and a postal code
# ("..., Apt. 182, Lavacherie 64532", "..., Caspe, Spain 55768"). The town is taken only with
# the code, which is what makes it part of an address.
_ADDRESS_TAIL_INLINE = (
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat)\.?\s*#?\d+\w*)?"
    rf"(?:(?:,?\s+{_STREET_NAME_WORD}){{1,5}},?\s+(?:(?-i:[A-Z]{{2}})\s+)?\d{{4,6}}(?:-\d{{3,4}})?\b)?"
)


def street_address_recognizer() -> ValueGroupRecognizer:
    # Safe Harbor lists street addresses among the identifiers (164.514(b)(2)(i)(B)).
    return ValueGroupRecognizer(
        entity="STREET_ADDRESS",
        name="StreetAddressRecognizer",
        patterns=[
            ValuePattern(
                "number_street_suffix",
                r"\b(?P<value>\d{1,6}[A-Z]?\s+(?:\d{1,3}(?:st|nd|rd|th)\s+)?(?:[A-Z][\w'-]*\.?\s+){0,4}"
                r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"
                r"Way|Terrace|Parkway|Pkwy|Square|Sq|Highway|Hwy|Close|Crescent|Gardens|Row)\b\.?"
                rf"{_ADDRESS_TAIL_INLINE})",
                0.85,
            ),
            # Continental formats, the number after the street: "Kieler Strasse 90",
            # "Rua Papoula 12", "ul. Ormiańska 139", "Pod Strání 954".
            ValuePattern(
                "street_then_number",
                rf"(?<![\w,.$€£/-])(?P<value>(?:\d{{1,5}}[A-Za-z]?\s+)?"
                rf"(?:(?:{_NAME}\s+){{0,3}}(?-i:[A-ZÀ-Þ])[\w'’-]*"
                r"(?:strasse|straße|str\.|weg|gade|vej|vei|vegen|veien|laan|straat|tie|katu|gatan|"
                r"vägen|allee|platz|gasse|chaussee|plein)"
                rf"|(?:{_NAME}\s+){{1,3}}(?:Strasse|Straße|Str\.|Weg|Allee|Platz|Gasse|Gade|Vej|Vei|"
                r"Laan|Straat|Gatan|Vägen|Ring|Damm|Ufer|utca|u\.|út|útja|tér|kapu|körút|köz|sor)"
                r"|(?:Rue|Rua|Rúa|R\.?|Via|Viale|Vicolo|Calle|C/|Camino|Carrer|Paseo|Avenida|Avda\.?"
                r"|Piazza|Plaza|Praça|Largo|Travessa|Estrada|Alameda|Chemin|Ulica|ul\.|Λ\.|Οδός"
                r"|πλατεία|Πλατεία)"
                rf"(?:\s+{_STREET_NAME_WORD}){{1,5}})"
                rf"\s+{_NOT_A_YEAR}\d{{1,5}}[A-Za-z]?\b{_ADDRESS_TAIL_INLINE})",
                0.8,
            ),
            # A street named after a number, in the forms of French, Portuguese, Spanish and
            # Italian addresses: "56 rue La Boétie", "81 Chemin Challet".
            ValuePattern(
                "number_then_street",
                r"(?<![\w,.$€£/-])(?P<value>\d{1,5}\s+(?:Rue|Rua|Via|Viale|Chemin|Calle|Avenida|Strada"
                rf"|Boulevard|Bd|Allée|Impasse|Place)(?:\s+(?:{_STREET_NAME_WORD}|(?-i:l'|d')[\w'’-]+)){{1,5}})"
                rf"{_ADDRESS_TAIL_INLINE}",
                0.75,
            ),
            # A street and its number after a word for a place that is on it: "the pharmacy is
            # on Metsa 21", "the bus station is on Männi 48", "the north side of Herrería 6".
            ValuePattern(
                "on_street",
                r"\b(?:(?:(?:pharmacy|store|shop|station|office|clinic|branch|restaurant|house|home"
                r"|building|flat|apartment)(?:\s+(?:is|was))?|lives?|living|located|enter|entrance)"
                r"\s+on|side\s+of)\s+"
                rf"(?P<value>{_NAME}(?:\s+{_STREET_NAME_WORD}){{0,3}}\s+{_NOT_A_YEAR}\d{{1,5}}[A-Za-z]?)\b"
                r"(?![.,:/-]\d)",
                0.7,
            ),
            # United States military addresses: "PSC 6319, Box 2085\nAPO AA 22620",
            # "Unit 9178 Box 4127 DPO AE 55469", "USNS Tanguay\nFPO AA 44543".
            ValuePattern(
                "military",
                r"(?-i:\b(?P<value>(?:(?:PSC|Unit)\s+\d{3,5},?\s+Box\s+\d{3,5}"
                r"|(?:USNS|USNV|USS|USCGC)(?:\s+[A-Z][\w'’-]*){1,3})"
                r",?\s*\n?\s*(?:APO|FPO|DPO)\s+A[AEP]\s+\d{5}(?:-\d{4})?)\b)",
                0.9,
            ),
            ValuePattern(
                "po_box",
                r"\b(?P<value>(?:P\.\s?O\.|PO)\s+Box\s+\d{1,6}|Post(?:fach|\s+Office\s+Box)\s+\d{1,6})\b",
                0.8,
            ),
            # "the corner of Via delle Coste 26 and Bravo Trail"
            ValuePattern(
                "corner",
                rf"\b(?P<value>the\s+corner\s+of\s+(?:{_STREET_NAME_WORD}\.?\s+|\d{{1,5}}\s+){{1,5}}"
                r"and\s+(?:[^\W\d_][\w'’-]*|\d{1,5})(?:\s+(?-i:[A-ZÀ-ÞΑ-Ω][\w'’-]*|\d{1,5})){0,4})",
                0.8,
            ),
            # A building number before a street written with its own number, as generated
            # multinational data and some countries do: "488 Schietboompleinstraat 430".
            ValuePattern(
                "number_name_number",
                rf"(?<![\w,.$€£/:-]){_NOT_A_YEAR}(?P<value>\d{{1,5}}[A-Za-z]?\s+{_NAME}"
                rf"(?:\s+{_STREET_NAME_WORD}){{0,4}}\s+{_NOT_A_YEAR}\d{{1,5}}[A-Za-z]?\b"
                rf"{_ADDRESS_TAIL_INLINE})(?![\w/-]|\.\d)",
                0.7,
            ),
        ],
    )


def _vin_is_valid(vin: str) -> bool:
    """ISO 3779 check digit (position 9), mandatory for North American vehicles."""
    values = {**{str(d): d for d in range(10)}}
    for letters, start in (("ABCDEFGH", 1), ("JKLMN", 1), ("PR", 7), ("STUVWXYZ", 2)):
        for offset, letter in enumerate(letters):
            values[letter] = start + offset
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    vin = vin.upper()
    if len(vin) != 17 or any(c not in values for c in vin):
        return False
    remainder = sum(values[c] * w for c, w in zip(vin, weights, strict=True)) % 11
    return vin[8] == ("X" if remainder == 10 else str(remainder))


class VinRecognizer(ValueGroupRecognizer):
    """Vehicle identification numbers: with the label, any 17-character VIN; without it, only
    one whose check digit is right."""

    def __init__(self) -> None:
        super().__init__(
            entity="VEHICLE_ID",
            name="VehicleIdentifierRecognizer",
            patterns=[
                ValuePattern(
                    "vin_labelled",
                    r"\b(?:VIN|vehicle\s+identification\s+(?:number|no\.?))\s*[:#]?\s*"
                    r"(?P<value>[A-HJ-NPR-Z0-9]{17})\b",
                    0.95,
                ),
                ValuePattern("vin_bare", r"\b(?P<value>[A-HJ-NPR-Z0-9]{17})\b", 0.0),
                ValuePattern(
                    "plate_labelled",
                    r"\b(?:licen[cs]e|number|registration)\s+plate(?:\s+(?:number|no\.?))?\s*"
                    r"(?:is|:|#)?\s*(?P<value>[A-Z0-9][A-Z0-9 -]{1,8}[A-Z0-9])\b",
                    0.85,
                ),
            ],
        )

    def analyze(self, text, entities, nlp_artifacts=None):
        results = []
        for result in super().analyze(text, entities, nlp_artifacts):
            if result.score == 0.0:
                value = text[result.start : result.end]
                if not (_vin_is_valid(value) and any(c.isdigit() for c in value)):
                    continue
                result.score = 0.9
            results.append(result)
        return results


def labelled(
    entity: str,
    name: str,
    labels: str,
    value: str,
    *,
    score: float = 0.9,
    unlabelled: tuple[ValuePattern, ...] = (),
) -> ValueGroupRecognizer:
    """An identifier recognised by the label written before it ("Case No. 2:21-cv-01234"),
    plus any formats distinctive enough to need no label."""
    return ValueGroupRecognizer(
        entity=entity,
        name=name,
        patterns=[
            ValuePattern(
                f"{name}_labelled",
                # "driver's license (250548390)": the value may stand in parentheses.
                rf"\b(?:{labels})\s*(?:no\.?|number|num\.?|#|id)?\s*(?:is|:|#|-|\()?\s*(?P<value>{value})",
                score,
            ),
            *unlabelled,
        ],
    )


def case_number_recognizer() -> ValueGroupRecognizer:
    return labelled(
        "CASE_NUMBER",
        "CaseNumberRecognizer",
        r"case|docket|matter|file|claim|index",
        r"(?=[A-Z0-9:./-]*\d)[A-Z0-9][A-Z0-9:./-]{3,24}[A-Z0-9]",
        # US federal docket numbers need no label: 2:21-cv-01234, 1:19-cr-00567-ABC.
        unlabelled=(
            # State and foreign court numbers: 2012-CV-576987, HC-2021-025078, CL-2022-78921.
            ValuePattern(
                "court_year_number",
                r"\b(?P<value>(?:19|20)\d{2}-(?:CV|CR|CA|BK|MC|FA|PR|DR|SC|JV|CIV|CRIM|FAM)-\d{3,8}"
                r"|(?-i:[A-Z]{2,4})-(?:19|20)\d{2}-\d{3,8})\b",
                0.85,
            ),
            # A short docket number in a litigation sentence: "the hearing in 16-4930",
            # "judgment entered against Jane Roe in 22-0013".
            ValuePattern(
                "short_docket",
                r"\b(?:hearing|order|motion|judgment|complaint|subpoena|summons|counsel|dismiss"
                r"|defendant|plaintiff|against|petition|appeal)\b[^.;\n]{0,60}?\bin\s+"
                r"(?P<value>\d{2}-\d{4,5})\b(?![-/]\d)",
                0.8,
            ),
            ValuePattern(
                "federal_docket",
                r"\b(?P<value>\d:\d{2}-(?:cv|cr|bk|mc|md|mj|ap)-\d{3,5}(?:-[A-Z]{2,4})*)\b",
                0.95,
            ),
        ),
    )


_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    "NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)


# The longer labels first, so that "zip code is ..." is read whole.
_POSTCODE_LABEL = r"\b(?:zip\s*code|postal\s*code|post\s*code|postcode|zip)\s*(?:is|:|#)?\s*"


def zip_code_recognizer() -> ValueGroupRecognizer:
    # Safe Harbor removes ZIP codes (only the first three digits of large areas may stay).
    return ValueGroupRecognizer(
        entity="ZIP_CODE",
        name="ZipCodeRecognizer",
        patterns=[
            ValuePattern(
                "zip_labelled",
                rf"{_POSTCODE_LABEL}(?P<value>\d{{5}}(?:-\d{{4}})?)\b",
                0.9,
            ),
            # A label makes any country's format a postal code: "postcode 70-746", "ZIP: 4333 CG",
            # "zip code is M4J 3S3". The value must contain a digit and not be a year; UK
            # postcodes are left to Presidio's UK_POSTCODE, which UK policy names.
            ValuePattern(
                "postcode_labelled",
                _POSTCODE_LABEL
                + r"(?P<value>(?-i:(?!(?:19|20)\d\d\b)(?![A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b)(?=[A-Z]{0,4}\d)[A-Z0-9]{2,5}(?:[ -][A-Z0-9]{2,4})?))\b",
                0.85,
            ),
            # ZIP+4 and Canadian postal codes are distinctive without a label.
            ValuePattern("zip_plus4", r"(?<![\w-])(?P<value>\d{5}-\d{4})(?![\w-])", 0.6),
            ValuePattern(
                "canadian_postal_code", r"\b(?P<value>(?-i:[A-Z]\d[A-Z] ?\d[A-Z]\d))\b", 0.6
            ),
            ValuePattern(
                "state_zip",
                rf"(?-i:\b(?:{_US_STATES}))\s+(?P<value>\d{{5}}(?:-\d{{4}})?)\b",
                0.7,
            ),
        ],
    )


def age_over_89_recognizer() -> ValueGroupRecognizer:
    # Safe Harbor removes ages over 89 (they are rare enough to identify); younger ages may stay.
    over_89 = r"(?:9\d|1[01]\d)"
    return ValueGroupRecognizer(
        entity="AGE_OVER_89",
        name="AgeOver89Recognizer",
        patterns=[
            ValuePattern(
                "years_old", rf"\b(?P<value>{over_89}[- ](?:years?|yrs?|yo)(?:[- ]old)?)\b", 0.9
            ),
            ValuePattern("y_o", rf"\b(?P<value>{over_89}\s*y/?o)\b", 0.9),
            ValuePattern("aged", rf"\b(?:aged?|age:)\s*(?P<value>{over_89})\b", 0.9),
        ],
    )


def age_recognizer() -> ValueGroupRecognizer:
    # Any stated age of a person ("a 45-year-old man", "aged 37", "turned 58"): GDPR personal
    # data beside anything else about the person. HIPAA's Safe Harbor needs only ages over 89,
    # which AGE_OVER_89 covers, so policies choose between the two.
    # "under the age of 16", "children over 12 years old": thresholds in rules, nobody's age.
    threshold = r"(?<!under )(?<!below )(?<!over )(?<!above )(?<!than )(?<!least )"
    age = rf"{threshold}(?:1[01]\d|[1-9]?\d)"
    return ValueGroupRecognizer(
        entity="AGE",
        name="AgeRecognizer",
        patterns=[
            # The number alone is the datum: "a <AGE_1>-year-old man" still reads.
            ValuePattern("years_old", rf"\b(?P<value>{age})[- ](?:years?|yrs?)[- ]old\b", 0.85),
            ValuePattern("y_o", rf"\b(?P<value>{age})\s*(?:y/o|yo|y\.o\.)(?!\w)", 0.85),
            # Clinical shorthand for age and sex: "(43M, MRN ...)", ", 57F,".
            ValuePattern(
                "age_sex", r"(?:\(|,\s)(?P<value>1[01]\d|[1-9]?\d)\s?(?-i:[MF])(?=[,;)])", 0.75
            ),
            ValuePattern(
                "aged",
                rf"\b(?<!under\sthe\s)(?<!below\sthe\s)(?<!over\sthe\s)(?<!above\sthe\s)"
                rf"(?:aged|age:|age\s+of|at\s+age|just\s+turned|turns|turned)\s*"
                rf"(?P<value>{age})\b(?!\s*(?:days?|weeks?|months?|%|percent))",
                0.8,
            ),
        ],
    )


# A word of a name: not a function word, so "Mr. Davis is ..." stops before "is".
_NAME_WORD = (
    r"(?!(?:and|or|but|i|to|for|with|at|in|on|the|a|an|is|was|who|from|of|as|if|when|"
    r"will|can|has|had|have|and|he|she|they|we|you)\b)[^\W\d_][\w'’-]*"
)


def person_cue_recognizer() -> ValueGroupRecognizer:
    """Names after a title or a phrase that introduces a name; spaCy's small model misses many
    of these, especially in lower case ("my name is tina roelink")."""
    return ValueGroupRecognizer(
        entity="PERSON",
        name="PersonCueRecognizer",
        patterns=[
            ValuePattern(
                "title",
                # A second word only when capitalised like the first ("Mr. Reid flew to ...").
                rf"(?P<value>\b(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+{_NAME_WORD}"
                rf"(?:\s+(?-i:[A-ZÀ-ÞĀ-Ž])(?:{_NAME_WORD})?)?)",
                0.8,
            ),
            ValuePattern(
                "introduced",
                rf"\b(?:my\s+name\s+is|name\s+on\s+the\s+\w+\s+is|call(?:s)?\s+me|name\s*:)"
                rf"\s+(?P<value>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})",
                0.8,
            ),
        ],
    )


# A capitalised word of a name in any Latin or Greek script ("Szölôs", "O'Neill", "Kilpeläinen-
# Kramer"), not its possessive ending ("Smit's"); initials ("A", "B.Sc."), and the particles of
# family names ("van den", "ten").
_CAPITAL_WORD = r"(?-i:[A-ZÀ-ÖØ-ÞĀ-ŽΑ-Ω])(?:[\w-]|['’](?!s\b))*"
_INITIAL = r"(?-i:[A-Z])\.(?:(?-i:[A-Za-z]{1,3})\.)*"
_NAME_PARTICLE = r"(?-i:van|von|der|den|de|ten|ter|da|di|del|la|le|bin|ibn|al|el|dos|das|du)"
_HONORIFIC = r"(?:(?-i:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Ing|Dipl\.-Ing|Univ\.Prof)\.?\s+)"
_FULL_NAME = (
    # An acronym is no name ("a patient PHI?"); names in capitals are read elsewhere.
    rf"{_HONORIFIC}?(?!(?-i:[A-Z]{{2,}})\b)(?:{_INITIAL}|{_CAPITAL_WORD})"
    # A word in capitals after a name is a label ("B.A. MRN 84470784"), not part of it.
    rf"(?:\s+(?!(?-i:[A-Z]{{2,}})\b)(?:{_INITIAL}|{_CAPITAL_WORD}"
    rf"|{_NAME_PARTICLE}(?:\s+{_NAME_PARTICLE})?(?=\s+(?-i:[A-Z]))))"
    r"{0,4}"
)
# Nouns for a person's role in a case, a record or a letter, after which a name follows:
# "client Myrna", "defendant James Law", "Patient: Peppin Deschamps", "mother Anette Law".
_PERSON_ROLES = (
    r"patient|pt|client|customer|defendant|plaintiff|claimant|respondent|witness|applicant|"
    r"subject|owner|tenant|landlord|mother|father|son|daughter|wife|husband|spouse|nephew|niece|"
    r"brother|sister|caregiver|guardian|beneficiary|originator|(?:account\s+)?holder|employee|"
    r"debtor|executor|decedent|caller|victim|child|contact|RM|deposition\s+of"
)
# Words that address a group or a role, not a person ("Dear Counsel", "Hi Team").
_NOT_A_NAME = (
    r"(?!(?-i:Counsel|Sir|Sirs|Madam|All|Team|Colleagues|Everyone|Customer|Client|Patient|Doctor|"
    r"Officer|Committee|Board|Member|Members|Regards|Thanks|The|This|That|Our|We|You|Please"
    r"|I(?:['’]\w+)?"
    # Words that begin a sentence or a question ("Does New York's law apply?").
    r"|Does|Do|Did|Is|Are|Was|Were|Can|Could|Should|Would|Will|May|Might|Must|Shall|Has|Have|Had"
    r"|What|How|When|Where|Who|Whom|Why|Which|If|Under|Per|For|In|On|At|A|An|My|Their|His|Her"
    r"|These|Those|Also|And|But|So|Then|After|Before|Since|Both|Each|Every|Any|Some|No|Not"
    r"|Dear|Hi|Hello|Re|Cc|Attn)\b)"
)


def person_role_recognizer() -> ValueGroupRecognizer:
    """Names after a word for the person's role ("client Myrna", "Patient: Lechosław M
    Kozłowski"), a greeting or a closing ("Dear Vivian,", "Best, Silke Trevisan"), or introducing
    oneself ("Hi, I'm Ingi,"): spaCy's small model misses many names it has not seen, most of
    all foreign ones. Each must still read as a proper noun to the tagger (checked by the PII
    layer), so "Dear Counsel" or "customer Due Diligence" stay. Scored above spaCy's 0.85: the
    role says person where spaCy guesses a place or an organisation for the same words; and
    below the place cues' 0.9, so that Presidio's choice between equal spans never depends on
    the order of a set."""
    return ValueGroupRecognizer(
        entity="PERSON",
        name="PersonRoleRecognizer",
        patterns=[
            ValuePattern(
                "role",
                rf"\b(?:{_PERSON_ROLES})s?\b\.?[ \t]*[:,-]?[ \t]+{_NOT_A_NAME}(?P<value>{_FULL_NAME})",
                0.89,
            ),
            ValuePattern(
                "greeting",
                r"(?-i:\b(?:Dear|Hi|Hello|Hey|Attn|cc|Cc|CC|Best|Regards|Sincerely|Thanks|Thx|Cheers"
                r"|Yours(?:\s+sincerely|\s+truly)?|Kind\s+regards|Best\s+regards))[:,]?[ \t]+"
                rf"{_NOT_A_NAME}(?P<value>{_FULL_NAME})(?=\s*(?:[,.;:!?\n(]|$))",
                0.89,
            ),
            # A name of two words or more right before what is recorded about a person:
            # "Osmo A. Štavbar, DOB ...", "Diogo Gomes MRN ...", "Erzsok Sinko, 48 y/o",
            # "Lotta Luusua, Finnish national", "records of Inger Petersen's funds".
            ValuePattern(
                "before_identifier",
                # Not a role or a verb opening the sentence ("Pt Jan Roe, DOB", "Referring Jan
                # Roe (36M, ...").
                rf"(?<![\w.-]){_NOT_A_NAME}(?!(?i:{_PERSON_ROLES})\b|(?-i:[A-Z][a-z]{{3,}}ing)\s)"
                rf"(?P<value>{_HONORIFIC}?(?:{_INITIAL}|{_CAPITAL_WORD})"
                rf"(?:\s+(?!(?-i:[A-Z]{{2,}})\b)(?:{_INITIAL}|{_CAPITAL_WORD})){{1,4}})"
                r"(?=['’]s\s+(?-i:[a-z])|,?\s+(?-i:DOB|MRN|SSN|DL\b|DL#|acct|born\b)"
                r"|\s+\((?:MRN|DOB|\d{1,3}\s?[MF]\b)|,\s+\d{1,3}\s?(?:y/?o\b|,)"
                r"|,\s+(?-i:[A-Z])[a-z]+\s+national\b)",
                0.89,
            ),
            # "What's your last name? Halkoaho", "she named him Shane", "my grandmother was
            # called Astryd Mercado".
            ValuePattern(
                "named",
                r"\b(?:(?:last|first|full|maiden|family|given|sur)\s*name(?:\s+is)?\s*[?:]?"
                r"|named(?:\s+(?:him|her|them))?|(?:was|is|were)\s+called)[ \t]+"
                rf"{_NOT_A_NAME}(?P<value>{_FULL_NAME})",
                0.89,
            ),
            ValuePattern(
                "self",
                rf"(?-i:\b(?:I'm|I\s+am|I,|[Tt]his\s+is|[Mm]y\s+name's))[ \t]+{_NOT_A_NAME}"
                rf"(?P<value>{_FULL_NAME})(?=\s*,|\s+from\b)",
                0.89,
            ),
        ],
    )


# A place's name: capitalised words in Latin or Greek script ("ΛΕΥΚΩΣΙΑ", "Paso de Carrasco"),
# and the region after a comma ("TAWONGA, VIC", "Lafayette, Louisiana").
_PLACE_WORD = r"(?-i:[A-ZÀ-ÞΑ-Ω∆][\w'’∆-]+)"
_PLACE_NAME = (
    rf"{_PLACE_WORD}(?:\s+(?:(?-i:de|del|da|do|dos|la|le|nad|na|pod|u|am|an|im|sur|en)\s+)?"
    rf"{_PLACE_WORD}){{0,3}}(?:,\s+(?:(?-i:[A-Z]{{2,3}})\b|{_PLACE_WORD}(?:\s+{_PLACE_WORD})?))?"
)


def place_cue_recognizer() -> ValueGroupRecognizer:
    """Places after phrases that say where a person lives or comes from ("lives in Hueb");
    names of jurisdictions and countries are kept by the PII layer's allowlist."""
    return ValueGroupRecognizer(
        entity="LOCATION",
        name="PlaceCueRecognizer",
        patterns=[
            ValuePattern(
                "lives_in",
                r"\b(?:lives?|living|moved|relocated|grew\s+up|was\s+born|home\s+city"
                r"|flew|travel(?:l)?(?:ed|ing)?|trip|holiday|vacation|visit(?:ed|ing)?"
                r"|passport\s+issued\s+by|citizen\s+of|national\s+of|resident\s+of"
                r"|(?:I'?m|I\s+am|we\s+are|we'?re)(?=\s+in\b)|arrived|staying|abroad"
                r"|(?:came|coming|returned|returning)(?=\s+(?:to|from)\b))"
                r"(?:\s+(?:here|there))?\s+(?:in|to|from|is|at)?\s*"
                rf"(?P<value>{_PLACE_NAME})",
                # Above spaCy's 0.85: Presidio keeps one result per span, the higher-scored, and
                # only this one says that the place is where someone lives.
                0.9,
            ),
            # Where a person or an address is from, which leaves a country named as the
            # jurisdiction alone ("Does the GDPR apply to a patient from Germany?"): "a patient
            # from Paso de Carrasco, Canelones", "a new address in TAWONGA, VIC".
            ValuePattern(
                "comes_from",
                r"\b(?:(?:address|domiciled)\s+in"
                r"|(?:I'?m|I\s+am|patient|client|customer)\b[^,;:\n]{0,40}?\s+from)\s+"
                rf"(?P<value>{_PLACE_NAME})",
                0.9,
            ),
            # "pharmacy ... in Buják zip 3047", "at the LARVIK branch".
            ValuePattern(
                "before_postcode",
                rf"\bin\s+(?P<value>{_PLACE_WORD}(?:\s+{_PLACE_WORD}){{0,2}})\s+(?:zip|post\s?code)\b",
                0.9,
            ),
            ValuePattern(
                "branch",
                # In capitals, as banks write their branches ("the Main branch" is none).
                r"\bthe\s+(?P<value>(?-i:[A-ZÀ-ÞΑ-Ω∆][A-ZÀ-ÞΑ-Ω∆'’-]{3,})(?:[\s-]+(?-i:[A-ZÀ-ÞΑ-Ω∆]"
                r"[A-ZÀ-ÞΑ-Ω∆'’-]+)){0,2})\s+branch\b",
                0.9,
            ),
        ],
    )


_LEGAL_FORM = (
    r"Inc|INC|Incorporated|Corp|CORP|Corporation|CORPORATION|Co\.?\s?Ltd|CO\.?\s?LTD|Company|COMPANY"
    r"|CompanyLimited|Ltd|LTD|Limited|LIMITED|LLC|L\.L\.C|LLP|PLC|Plc|plc|GmbH|GMBH|AG|S\.?A|NV|N\.V"
    r"|BV|B\.V|SE|SpA|S\.p\.A|Oy|OYJ|Oyj|AB|ASA|A/S|Group|GROUP|Holdings|HOLDINGS|Bancorp|PBC"
    r"|Hospital|HOSPITAL|Clinic|CLINIC|Medical\s+Center|Health\s+System|Partners|Associates"
)


def organization_suffix_recognizer() -> ValueGroupRecognizer:
    """Companies, firms and hospitals by their legal form or kind ("Diodes Incorporated",
    "Meten Edtech Group Ltd.", "St. Mary's Hospital"), which spaCy's small model often misses.
    Regulators and laws among them are dropped by the PII layer's institution check."""
    word = r"[A-Z0-9][\w'’&.-]*"
    return ValueGroupRecognizer(
        entity="ORGANIZATION",
        name="OrganizationSuffixRecognizer",
        patterns=[
            ValuePattern(
                "legal_form",
                rf"(?-i:\b(?P<value>{word}(?:\s+(?:&\s+|and\s+|of\s+|de\s+)?{word}){{0,5}}"
                rf"(?:,?\s+|\.)(?:{_LEGAL_FORM})\b\.?))",
                # Above spaCy's 0.85, so that Presidio keeps this result for the span.
                0.9,
            )
        ],
    )


# A business's name: capitalised words, possessives ("Weingarten's", "Mr. Clark's Appliances"),
# "&" and small linking words ("Bed Bath & Beyond", "House of Fraser").
_ORGANIZATION_NAME = (
    # Dots only inside a word ("Co.Ltd"), so that a name ends at its sentence's full stop.
    r"(?:(?-i:The)\s+)?(?-i:[A-Z0-9À-Þ])[\w'’&/-]*(?:\.[\w'’&/-]+)*"
    r"(?:\s+(?:(?-i:&|of|de|du|the)\s+)?(?-i:[A-Z0-9À-Þ])[\w'’&/-]*(?:\.[\w'’&/-]+)*){0,5}"
)
# Phrases that say the next name is a company: an employer ("works at", "employed by",
# "payroll from"), a party to a matter ("we act for", "subpoena to", "refused service by"), a
# place of treatment ("treated at").
_ORGANIZATION_CUES = (
    r"works?\s+(?:at|for)|working\s+(?:at|for)|employed\s+(?:at|by)|employee\s+of|employer:?"
    r"|payroll\s+from|invoices?\s+from|(?:terminated|fired|hired|sued|refused\s+service)\s+by"
    r"|(?:we\s+)?act\s+for|NDA\s+for|custodian\s+of\s+records\s+for|subpoena(?:ed)?\s+to"
    r"|served\s+on|(?:treated|seen|performed|admitted)\s+at|(?:role|position|job)\s+at"
    r"|the\s+board\s+of|engagement\s+(?:letter|confirmed)\s+for|business|KYC\s+for"
    r"|IOLTA\s+account\s+for|payments?\s+(?:of\s+(?-i:[A-Z]{3}\s)?[$€£]?[\d,.]+\s+)?to"
    r"|(?:bought|buy|purchased?|spent)\b[^.;\n]{0,40}?\s+at"
)


def organization_cue_recognizer() -> ValueGroupRecognizer:
    """Companies named after a phrase that says so ("payroll from The Pink Pig Tavern", "we act
    for Matrix Design", "treated at Mount Sinai"): a person's employer or the other party of
    their matter identifies them (Safe Harbor lists employers), and most such names have no
    legal form. Regulators and laws are dropped by the PII layer's institution check."""
    return ValueGroupRecognizer(
        entity="ORGANIZATION",
        name="OrganizationCueRecognizer",
        patterns=[
            ValuePattern(
                "cue",
                rf"\b(?:{_ORGANIZATION_CUES})[ \t]+(?P<value>{_ORGANIZATION_NAME})"
                r"(?=\s*(?:[,.;:!?)(\n]|$)|\s+(?-i:[a-z]))",
                # Above spaCy's 0.85, below the legal form's 0.9: Presidio keeps one result of
                # equal spans, and a legal form says company without the tagger's proper noun.
                0.88,
            )
        ],
    )


def job_title_cue_recognizer() -> ValueGroupRecognizer:
    """Job titles after words that introduce one ("occupation: civil drafter", "works as a
    night nurse", "retired passenger rate clerk", "applying for the operations director role")."""
    title = r"[^\W\d_][\w&/'’-]*(?:\s+[^\W\d_][\w&/'’-]*){0,5}?"
    return ValueGroupRecognizer(
        entity="TITLE",
        name="JobTitleCueRecognizer",
        patterns=[
            ValuePattern(
                "introduced",
                r"\b(?:occupation|profession|job\s+title|employed\s+as(?:\s+an?)?"
                r"|works?\s+as(?:\s+an?)?|working\s+as(?:\s+an?)?|retired)\s*:?\s+"
                rf"(?!(?:of|the|a|an|to|in|for|is|was|and|or)\b)(?P<value>{title})(?=\s*[,.;)]|\s+(?:at|for|with|in|since|and\s+(?:lives|works|is|was|has))\b|\s*$)",
                0.7,
            ),
            ValuePattern(
                "role",
                r"\b(?:for|as)\s+(?:the|a|an)\s+"
                rf"(?P<value>{title})\s+(?:role|position|post|job)\b",
                0.7,
            ),
        ],
    )


def religion_cue_recognizer() -> ValueGroupRecognizer:
    """A religion named after a word that asks for one ("religion (Jainism)", "stated
    affiliation: Jain"): a GDPR special category that spaCy's small model often misses."""
    return ValueGroupRecognizer(
        entity="NRP",
        name="ReligionCueRecognizer",
        patterns=[
            ValuePattern(
                "religion_labelled",
                r"\b(?:religion|religious\s+affiliation|faith|(?:stated\s+)?affiliation|denomination)"
                r"\s*(?:is|:|\(|-)?\s*(?:listed\s+as\s+)?"
                r"(?P<value>(?-i:[A-Z])[a-z]+(?:\s+(?-i:[A-Z])[a-z]+)?)",
                0.8,
            )
        ],
    )


def own_recognizers() -> list[EntityRecognizer]:
    return [
        place_cue_recognizer(),
        person_cue_recognizer(),
        person_role_recognizer(),
        organization_suffix_recognizer(),
        organization_cue_recognizer(),
        job_title_cue_recognizer(),
        religion_cue_recognizer(),
        AddressRecognizer(),
        VinRecognizer(),
        case_number_recognizer(),
        zip_code_recognizer(),
        age_over_89_recognizer(),
        age_recognizer(),
        labelled(
            "ACCOUNT_NUMBER",
            "AccountNumberRecognizer",
            # Health plan member and policy numbers are account numbers too (164.514(b)(2)(i)(J), (K)).
            # A health plan's group number too ("group 86662837").
            r"accounts?|acct\.?|bank\s+account|member(?:\s+id)?|policy|subscriber(?:\s+id)?"
            r"|group(?=\s+(?:no\.?|number|#)?\s*\d)",
            r"(?:[A-Z]{2,3}-)?\d[\d -]{4,18}\d",
            unlabelled=(
                # Where money goes to or comes from: "ACH of $9,900 to AC-18807829", "payments
                # from 1534-0633-7106", and the second of "accounts 4855-... and 3392-...".
                ValuePattern(
                    "payment_account",
                    r"\b(?:ACH|wire|transfer|payments?|deposits?|accounts?|acct\.?)\b"
                    r"[^.;\n$]{0,20}?(?:\$[\d,.]+\s+)?(?:to|from|into|and)\s+"
                    r"(?P<value>(?-i:[A-Z]{2,3}-)?\d{4}(?:-?\d{4}){1,3}|(?-i:[A-Z]{2,3}-)\d{6,12})\b(?![-.]\d)",
                    0.75,
                ),
            ),
        ),
        labelled(
            "VEHICLE_ID",
            "VehiclePlateRecognizer",
            r"(?:licen[cs]e\s+|number\s+)?plate|vehicle(?:\s+registration)?\s*\(?|registration\s+mark",
            # Up to three groups, as German plates have: "LDK-VI-269", "IZ-E-78".
            r"(?-i:(?=[A-Z0-9 -]*\d)(?=[A-Z0-9 -]*[A-Z])[A-Z0-9]{1,4}(?:-[A-Z0-9]{1,3}-[A-Z0-9]{1,4}"
            r"|[ -]?[A-Z0-9]{2,5}))",
            score=0.75,
        ),
        labelled(
            "DEVICE_ID",
            "DeviceIdentifierRecognizer",
            r"serial|device|IMEI|UDI|implant|pacemaker|pump",
            r"(?=[A-Z0-9:-]*\d)[A-Z0-9][A-Z0-9:-]{4,30}[A-Z0-9]",
        ),
        # Presidio's own card, SSN and licence recognizers want a valid checksum or a known
        # format; a number labelled as one is still one to a reader, so it is redacted too
        # (scored below a checksummed match).
        labelled(
            "CREDIT_CARD",
            "LabelledCardRecognizer",
            r"(?:credit|debit|payment|bank)?\s*card(?:\s+number)?\??",
            r"\d{4}(?:[ -]?\d{2,4}){2,4}",
            score=0.7,
        ),
        labelled(
            "US_SSN",
            "LabelledSsnRecognizer",
            r"social\s+security(?:\s+number)?|ssn",
            r"(?=[A-Z0-9 -]*\d)[A-Z]{0,2}[ -]?\d[\d -]{4,12}\d(?:[ -]?[A-Z])?",
            score=0.7,
        ),
        labelled(
            "US_DRIVER_LICENSE",
            "LabelledDriverLicenseRecognizer",
            r"driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|DL",
            r"(?=[A-Z0-9*-]*\d)[A-Z0-9][A-Z0-9*-]{4,18}[A-Z0-9]",
            score=0.75,
        ),
        street_address_recognizer(),
        medical_record_number_recognizer(),
        us_ssn_recognizer(),
        PhoneNumberRecognizer(),
        date_recognizer(),
    ]


def presidio_recognizers() -> list[EntityRecognizer]:
    """Presidio's own recognizers that its default English registry leaves out: identifiers of
    patients, providers and people in the UK and the EU, several with checksum validation."""
    from presidio_analyzer.predefined_recognizers import (
        DeTaxIdRecognizer,
        EsNifRecognizer,
        UkNinoRecognizer,
        UkPostcodeRecognizer,
        UkVehicleRegistrationRecognizer,
        UsHealthInsuranceMemberIdRecognizer,
        UsMbiRecognizer,
        UsNpiRecognizer,
    )

    return [
        cls(supported_language="en")
        for cls in (
            UsNpiRecognizer,
            UsMbiRecognizer,
            UsHealthInsuranceMemberIdRecognizer,
            UkNinoRecognizer,
            UkPostcodeRecognizer,
            UkVehicleRegistrationRecognizer,
            EsNifRecognizer,
            DeTaxIdRecognizer,
        )
    ]


_ADDRESS_CUE = re.compile(
    r"\b(?:lives?\s+at|living\s+at|resid(?:es|ing)\s+at|pick(?:ed)?[\s-]?up\s+at"
    r"|drop(?:ped)?[\s-]?off\s+at|registered\s+at|house\s+at|no\s+longer\s+at"
    r"|address(?:es)?(?:\s+of\s+[^.\n]{1,40}?)?(?:\s+(?:is|are|with|to))?(?:,?\s+here\s+they\s+are)?\s*[:\-]?"
    r"|is\s+at|(?:sent|send\s+(?:it|them|a\s+new\s+one|the\s+\w+))\s+to|arrived\s+at"
    r"|taxi\s+to|return(?:ed)?\s+to|located\s+at|moved\s+to|ship(?:ped)?(?:\s+it)?\s+to"
    r"|deliver(?:ed)?(?:\s+it)?\s+to|mail(?:ed)?(?:\s+it)?\s+to|situated\s+at|based\s+at"
    r"|it'?s\s+in|meet\s+(?:me\s+)?at|meet\s+\w+\s+at\s+[^,.\n]{1,40},"
    # a second address in a list: "..., and 32 Pernilles vei 115"
    r"|,\s+and(?=\s+(?:\d|the\s+corner|p\.?\s?o\.?\s+box|us[cgns]*\w*\s|psc|unit)))\s+",
    re.IGNORECASE,
)
_ABBREVIATION_BEFORE_DOT = re.compile(
    r"(?:\b(?:apt|st|ave|rd|u|ul|avda|av|dr|no|box|ste|blvd|ln|pl|sq|mt|ft|jr|sr|c|p\.o|al|str|nr)|\d)$",
    re.IGNORECASE,
)
_ADDRESS_TAIL = re.compile(
    r"\s+(?:for|in\s+case|last|please|because|so|if|when|this|tomorrow|today|yesterday|tonight"
    r"|and\s+(?:will|i|we|please)|i|we|thanks?|to)\b.*$"
    # The sentence going on after the address: "...; her nephew", "..., with spouse ...",
    # "..., occupation ...", "..., must be designated": no part of an address is a lowercase
    # word of four letters or more after a comma.
    r"|\s*;.*$|,\s+(?-i:[a-z]{4,})\b.*$"
    # An aside after the address: "... 87756 (virtual office) along with 40 other entities".
    r"|\s+\((?-i:[a-z]).*$",
    re.IGNORECASE | re.DOTALL,
)
# What comes between a cue and the address itself: "address on license 828 ...", "address
# linked to my card to 167 ...".
_BEFORE_ADDRESS = re.compile(r"^(?:(?:(?-i:[a-z]+)\s+){1,6}|[^:\n\d]{1,40}:\s+)(?=\d)")
_STREET_WORD = re.compile(
    r"\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|place|square|"
    r"rue|rua|via|calle|avenida|avda|strasse|straße|str|ul|vei|vej|gate|allé|allee|weg|laan|"
    r"estrada|piazza|viale|corner|p\.?\s?o\.?\s+box|postfach|apt|suite|unit|box|"
    r"usns|usnv|uss|uscgc|psc|fpo|apo|dpo)\b",
    re.IGNORECASE,
)
_BLOCK_START = re.compile(
    r"^(?:\d{1,5}[A-Za-z]?\s+\S|(?:USNS|USNV|USS|USCGC|PSC|Unit)\s|P\.?\s?O\.?\s+Box\s)",
    re.IGNORECASE,
)
_LINE_PREFIX = re.compile(r"^[\s>?|*-]*")
_PHONE_LIKE = re.compile(r"(?:\d[\s().-]*){7,}")


class AddressRecognizer(EntityRecognizer):
    """Postal addresses in any country's format: written after a cue ("lives at", "send it to",
    "my address is"), or as a block of short lines that starts with a street line."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["STREET_ADDRESS", "CONTACT_DETAILS"],
            name="AddressRecognizer",
            supported_language="en",
        )

    def load(self) -> None:
        pass

    def analyze(self, text, entities, nlp_artifacts=None):
        spans = self._blocks(text) + self._after_cues(text)
        return [
            context_result(
                self,
                "CONTACT_DETAILS" if kind == "contact_line" else "STREET_ADDRESS",
                start,
                end,
                score,
                kind,
            )
            for start, end, score, kind in spans
        ]

    @staticmethod
    def _contact_lines(lines, index: int) -> list[tuple[int, int, float, str]]:
        """The short lines right above an address block: a signature's name, job title and
        company."""
        spans = []
        cursor = index - 1
        while cursor >= 0 and index - cursor <= 4:
            start, end, content = lines[cursor]
            if not content:
                if spans or cursor == index - 1:
                    cursor -= 1
                    continue
                break
            words = content.split()
            if len(words) > 5 or re.search(r"[.?!:;@]\s*$|[?:@]", content):
                break
            spans.append((start, end, 0.7, "contact_line"))
            cursor -= 1
        return spans

    @staticmethod
    def _lines(text: str) -> list[tuple[int, int, str]]:
        lines, position = [], 0
        for raw in text.split("\n"):
            prefix = len(_LINE_PREFIX.match(raw).group(0))
            content = raw[prefix:].rstrip()
            lines.append((position + prefix, position + prefix + len(content), content))
            position += len(raw) + 1
        return lines

    @staticmethod
    def _is_part(content: str) -> bool:
        words = content.split()
        if re.fullmatch(r"\d{4,6}(?:-\d{3,4})?", content):  # a postal code on its own line
            return True
        if len(content) <= 8 and len(words) <= 2:  # a region code or empty field: ", 81", ", nan"
            return True
        return (
            0 < len(words) <= 6
            and not any(mark in content for mark in ("?", "@", "http", ":"))
            and not (_PHONE_LIKE.search(content) and re.search(r"office|fax|mobile", content, re.I))
            and any(character.isalpha() for character in content)
        )

    def _continuation(self, content: str) -> tuple[int, bool]:
        """How much of a following line belongs to the address, and whether the address goes
        on after it. A line that ends the sentence ("Japan 26218. Please call me") counts up to
        its full stop."""
        if self._is_part(content):
            return len(_ADDRESS_TAIL.sub("", content).rstrip(" ,;")), True
        # The address ends inside this line: at a full stop, before a trailing phrase
        # ("afghanistan 25368 for this card: ..."), or before the next address (", and 93 ...").
        for ending in (
            re.match(r"(.*?)[.?!](?:\s|$)", content),
            re.match(r"(.*?)(?=,\s+and\s)", content),
        ):
            if ending and self._is_part(ending.group(1)):
                return len(ending.group(1)), False
        head = _ADDRESS_TAIL.sub("", content).rstrip(" ,;")
        if head != content and self._is_part(head):
            return len(head), False
        return 0, False

    def _blocks(self, text: str) -> list[tuple[int, int, float, str]]:
        lines = self._lines(text)
        spans = []
        index = 0
        while index < len(lines):
            start, _, content = lines[index]
            words = content.split()
            if not (_BLOCK_START.match(content) and len(words) <= 9 and not content.endswith("?")):
                index += 1
                continue
            last, blanks, cursor = index, 0, index + 1
            while cursor < len(lines):
                if not lines[cursor][2]:
                    blanks += 1
                    if blanks > 1:
                        break
                elif self._is_part(lines[cursor][2]):
                    last, blanks = cursor, 0
                else:
                    break
                cursor += 1
            if last > index:
                spans.append((start, lines[last][1], 0.8, "address_block"))
                spans += self._contact_lines(lines, index)
            index = last + 1
        return spans

    def _after_cues(self, text: str) -> list[tuple[int, int, float, str]]:
        spans = []
        lines = None
        for cue in _ADDRESS_CUE.finditer(text):
            start = cue.end()
            end = start
            while end < len(text):
                character = text[end]
                if character in "?!;\n":
                    break
                sentence_end = character == "." and (
                    end + 1 == len(text) or text[end + 1] in ' \n"'
                )
                if sentence_end and not _ABBREVIATION_BEFORE_DOT.search(text[start:end]):
                    break
                # After a number the full stop ends the sentence unless the address goes on
                # ("Tompa u. 2. Suite 167"; but "... 72076-9402. New phone ...").
                if (
                    sentence_end
                    and text[end - 1].isdigit()
                    and not re.match(r"\s+(?:Apt|Suite|Unit|Flat|Ste)\b", text[end + 1 : end + 8])
                ):
                    break
                end += 1
            candidate = _ADDRESS_TAIL.sub("", text[start:end]).rstrip(" ,;.")
            offset = 0
            if candidate.startswith("("):
                candidate = candidate[1:].split(")")[0]
                offset = 1
            lead = _BEFORE_ADDRESS.match(candidate)
            if lead:
                candidate = candidate[lead.end() :]
                offset += lead.end()
            if not self._plausible(candidate):
                continue
            stop = start + offset + len(candidate)
            corner = re.match(r"(?:in\s+)?(the\s+corner\s+of\s+)", candidate, re.IGNORECASE)
            offset += corner.start(1) if corner else 0
            if end < len(text) and text[end] == "\n" and not text[stop:end].strip(" ,;."):
                # The address goes on over the following short lines.
                lines = lines or self._lines(text)
                for line_start, _, content in lines:
                    if line_start <= stop:
                        continue
                    length, goes_on = self._continuation(content) if content else (0, False)
                    if length:
                        stop = line_start + length
                    if not goes_on:
                        break
            spans.append((start + offset, stop, 0.75, "address_after_cue"))
        return spans

    @staticmethod
    def _plausible(candidate: str) -> bool:
        if not candidate or len(candidate) > 120:
            return False
        if _STREET_WORD.search(candidate):
            return True
        # A number and at least two more words, and not a time or a quantity ("60 days"), nor
        # a sentence ("2010-02-13 with no restrictions": the words of a foreign address are
        # names, capitalised but for a particle).
        return (
            bool(re.search(r"\d", candidate))
            and len(candidate.split()) >= 3
            and len(re.findall(r"(?<!\S)[a-z]{4,}\b", candidate)) <= 1
            and not re.search(
                r"\b(?:days?|weeks?|months?|years?|hours?|minutes?|percent|am|pm|o'clock|cfr|u\.?s\.?c)\b|%",
                candidate,
                re.IGNORECASE,
            )
        )
