"""Recognising references to rules ("45 CFR 164.404(b)", "GDPR Art. 33(1)", "Rule 1.6")."""

from __future__ import annotations

import re

CITATION_RE = re.compile(
    r"\b\d+\s+(?:CFR|C\.F\.R\.|U\.S\.C\.|USC)\s+(?:§+\s*)?\d+(?:\.\d+)*(?:\([a-z0-9]+\))*"
    r"|§+\s*\d+(?:\.\d+)*(?:\([a-z0-9]+\))*"
    r"|\b(?:Art(?:icle)?\.?|Rule|Regulation|Recital|Section|Sec\.|Part|Chapter)\s+\d+(?:\.\d+)*(?:\([a-z0-9]+\))*",
    re.IGNORECASE,
)


def normalise_reference(reference: str) -> str:
    return re.sub(r"\s+", " ", reference.replace("§", "").replace("C.F.R.", "CFR")).strip().lower()


def references_in(text: str) -> list[str]:
    return [match.group(0) for match in CITATION_RE.finditer(text)]
