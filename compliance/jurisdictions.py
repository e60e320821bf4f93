"""Jurisdiction codes the service knows, and how they nest.

A code is a region optionally refined by a sub-region (``US-CA`` is California within ``US``).
Rules and passages written for a region apply to its sub-regions; ``*`` applies everywhere.
"""

from __future__ import annotations

JURISDICTIONS: dict[str, str] = {
    "US": "United States (federal)",
    "US-CA": "United States, California",
    "EU": "European Union",
    "EU-DE": "European Union, Germany",
    "UK": "United Kingdom",
    "AE-ADGM": "United Arab Emirates, Abu Dhabi Global Market",
}

EVERYWHERE = "*"


def is_known(code: str) -> bool:
    return code in JURISDICTIONS


def lineage(code: str) -> list[str]:
    """The code and every region that contains it, most specific first: US-CA -> [US-CA, US]."""
    parts = code.split("-")
    return ["-".join(parts[:length]) for length in range(len(parts), 0, -1)]


def applies_to(passage_jurisdictions: list[str], requested: str) -> bool:
    """Whether a passage tagged with ``passage_jurisdictions`` is relevant to ``requested``."""
    if EVERYWHERE in passage_jurisdictions:
        return True
    return any(code in passage_jurisdictions for code in lineage(requested))
