"""Where a street address found by a recognizer really begins and ends.

Street patterns find the street line ("2071 Maryland Avenue"); the rest of the address follows it
in as many forms as there are countries: flats and suites, the town, a region code, the country
and a postal code, on the same line after commas or over the following short lines
("..., Apt. 675 Suite 765, San Diego, United States 83899", "...\\n Apt. 326\\n TARVASJOKI\\n
Finland"). A town is taken only where the address visibly ends after it (a full stop, a
semicolon, the end of the line, a postal code), so that the sentence going on is not swallowed.
Some forms also put a building number before the street's own number ("5641 99 Derry Street").
Spans are ``(start, end)`` pairs; the caller merges them with what the recognizers found.
"""

from __future__ import annotations

import re

_UNIT = re.compile(
    r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Floor|Fl|Box)\.?\s*#?\d+[A-Za-z]?\b", re.IGNORECASE
)
# A word of a town, region or country: capitalised in any script, or in capitals ("TARVASJOKI",
# "ΛΕΜΕΣΟΣ"), with the small words place names contain ("Caxias do Sul", "Rečica ob Savinji").
_PLACE_WORD = (
    # Not a capitalised function word of a title or a sentence ("... You're Supposed To Hate").
    r"(?!(?:The|To|Of|And|Or|You|Your|We|Our|It|For|In|On|At|An?|But|Is|Are|Be|My|His|Her)\b)"
    r"[^\W\d_][\w'’∆.-]*"
)
_PARTICLE = r"(?:de|del|della|do|da|dos|das|du|des|la|le|les|en|sur|am|an|im|bei|nad|pod|na|ob|pri|u|di|y|al|el|upon|on)"
_PLACE = re.compile(
    rf"(?=[^\W\d_a-zß-ÿα-ω])(?:{_PLACE_WORD})(?:\s(?:{_PARTICLE}\s)?(?=[^\W\d_a-zß-ÿα-ω]){_PLACE_WORD}){{0,3}}"
)
# Postal codes: "83899", "95010-520", "3086 EC", "730 50", "L5A 1V9".
_POSTCODE = re.compile(
    r"(?=[A-Z0-9]*\d)(?:\d{3,6}(?:-\d{3,4})?(?:\s(?:\d{2}|[A-Z]{2}))?|[A-Z]\d[A-Z]\s?\d[A-Z]\d|"
    r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\b"
)
# A region written as its code ("CA", "VIC", "WC") or left empty by a form ("nan").
_REGION = re.compile(r"(?:[A-Z]{2,3}|nan)\b")
# A full stop may close a line that goes on with the flat ("Csabai kapu 60.\\n Suite 132").
_SEPARATOR = re.compile(
    r"(?:\.(?=\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat)\b))?"
    r"(?:[ \t]*,[ \t]*(?:\n[ \t]*,?[ \t]*)?|[ \t]*\n[ \t]*,?[ \t]*|[ \t]+)"
)
# Words that label the next item of a record, never part of a place ("..., Tel. 468 6549").
_LABELS = re.compile(
    r"(?:tel|telephone|phone|fax|mobile|cell|e-?mail|dob|ssn|mrn|acct|account|iban|occupation|"
    r"born|dear|hi|regards|best|thanks|sincerely|attn|ref|case)\b\.?",
    re.IGNORECASE,
)
# Where an address visibly ends: the end of the text or line, a clause's punctuation, or a
# lowercase word going on with the sentence.
_END = re.compile(r"\s*(?:$|\n|[.;:!?)(\]]|,?\s+[a-z]|,\s+(?:[A-Z][a-z]*\.?\s)?[a-z]|-\s)")
_PART_LIMIT = 7
# A building number written before the street line ("5641 99 Derry Street").
_NUMBER_BEFORE = re.compile(r"(?<![\w,.$€£/:-])\d{1,6}[ \t]+$")


def address_extent(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole address around a street line found at ``start``-``end``."""
    before = _NUMBER_BEFORE.search(text, max(0, start - 8), start)
    if before:
        start = before.start()
    return start, _tail_end(text, end)


def _tail_end(text: str, end: int) -> int:
    """Where the flats, town, region, country and postal code after a street line end."""
    accepted = end
    position = end
    places_since_accepted = 0
    for _ in range(_PART_LIMIT):
        separator = _SEPARATOR.match(text, position)
        if separator is None:
            break
        at = separator.end()
        if _LABELS.match(text, at) and not _UNIT.match(text, at):
            break
        part = (
            _UNIT.match(text, at)
            or _POSTCODE.match(text, at)
            or _REGION.match(text, at)
            or _PLACE.match(text, at)
        )
        if part is None or part.end() == at:
            break
        is_place = part.re is _PLACE
        position = part.end()
        if is_place:
            # A place word ending in a full stop ends the sentence ("... Finland.").
            if text[position - 1] == "." and position - 1 > at:
                position -= 1
            places_since_accepted += 1
            if places_since_accepted > 2:
                break
            if (
                _END.match(text, position)
                or _POSTCODE.match(text, position + 1)
                or _before_label(text, position)
            ):
                accepted, places_since_accepted = position, 0
        else:
            accepted, places_since_accepted = position, 0
    return accepted


def _before_label(text: str, position: int) -> bool:
    separator = _SEPARATOR.match(text, position)
    return separator is not None and _LABELS.match(text, separator.end()) is not None
