"""Recognising references to rules ("45 CFR 164.404(b)", "GDPR Art. 33(1)", "Rule 1.6")."""

from __future__ import annotations

import re

CITATION_RE = re.compile(
    r"\b\d+\s+(?:CFR|C\.F\.R\.|U\.S\.C\.|USC)\s+(?:§+\s*)?\d+(?:\.\d+)*(?:\([a-z0-9]+\))*"
    r"|§+\s*\d+(?:\.\d+)*(?:\([a-z0-9]+\))*"
    r"|\b(?:Art(?:icle)?\.?|Rule|Regulation|Recital|Section|Sec\.|Part|Chapter)\s+\d+(?:\.\d+)*(?:\([a-z0-9]+\))*",
    re.IGNORECASE,
)

# Guidance and decisions cited by their number: "EDPB Recommendations 01/2020", "Guidelines
# 9/2022", "Opinion 08/2024". The number reads as a date to a tagger; it is a reference.
DOCUMENT_NUMBER_RE = re.compile(
    r"\b(?:Recommendations?|Opinions?|Guidelines?|Bulletins?|Circulars?|Decisions?)\s+"
    r"(?:No\.?\s*)?(?P<number>\d+/\d+)\b"
)


def normalise_reference(reference: str) -> str:
    return re.sub(r"\s+", " ", reference.replace("§", "").replace("C.F.R.", "CFR")).strip().lower()


def references_in(text: str) -> list[str]:
    return [match.group(0) for match in CITATION_RE.finditer(text)]


# Names of rules and regimes that taggers take for places or organisations ("Safe Harbor" is a
# port to spaCy). They are the subject of questions, never personal data.
REGULATORY_TERMS_RE = re.compile(
    r"\b(?:safe\s+harbou?r|privacy\s+shield|data\s+privacy\s+framework|model\s+rules?|"
    r"formal\s+opinions?|privacy\s+rule|security\s+rule|breach\s+notification\s+rule|"
    r"minimum\s+necessary|limited\s+data\s+set|business\s+associates?|covered\s+entit(?:y|ies)|"
    r"standard\s+contractual\s+clauses|binding\s+corporate\s+rules|generative\s+ai|AI)\b",
    re.IGNORECASE,
)

# The names of laws and their usual abbreviations: "Health Insurance Portability and
# Accountability Act", "Proceeds of Crime Act 2002", "General Data Protection Regulation",
# "HIPAA". spaCy takes parts of them for organisations or people; they are never personal data.
LAW_NAME_RE = re.compile(
    # A word of the name may hold dots ("U.S.") but not end a sentence ("Portugal. The Rule").
    r"\b(?:(?:[A-Z](?:\.[A-Z])+\.|[A-Z](?:[\w'’-]|\.(?=\w))*)\s+(?:(?:and|of|for|the|on|in|to|&)\s+)*){1,10}"
    r"(?:Act|Acts|Regulations?|Directive|Rules?|Rulebook|Code|Law|Statute|Convention|Treaty)\b"
    r"(?:\s+(?:of\s+)?\d{4})?"
    r"|\b(?:HIPAA|HITECH|GDPR|UK\s+GDPR|CCPA|CPRA|CMIA|BDSG|BRAO|GwG|MLR|POCA|BSA|AMLD|AMLR|FATF)\b"
    # German statutes are one compound word ("Geldwäschegesetz", "Strafgesetzbuch",
    # "Datenschutz-Grundverordnung") or go by their abbreviation ("StGB", "DSGVO").
    r"|\b(?:the\s+)?[A-ZÄÖÜ][\wäöüß-]*(?:gesetz|gesetzbuch|verordnung|ordnung|Gesetz|Verordnung)\b"
    r"|\b(?:StGB|StPO|BGB|HGB|SGB|KWG|ZPO|TMG|TTDSG|TDDDG|DSGVO|IfSG|PDSG|BORA)\b"
)


def rule_name_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` names a rule, a regime or a law: spans no tagger's guess may overlap."""
    return [m.span() for m in REGULATORY_TERMS_RE.finditer(text)] + [
        m.span() for m in LAW_NAME_RE.finditer(text)
    ]
