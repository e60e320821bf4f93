"""Typed placeholders and the vault that maps them back to the values they replace.

Pure and light (no NLP imports), so the web process can restore a requester's own values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PLACEHOLDER_RE = re.compile(r"<([A-Z][A-Z_]*?)_(\d+|REDACTED)>")


def _normalise(value: str) -> str:
    return " ".join(value.split()).casefold()


@dataclass
class PseudonymVault:
    """Maps each distinct value to one typed placeholder, so the same person is ``<PERSON_1>``
    everywhere in a text (and in later texts screened with the same vault)."""

    # (entity type, normalised value) -> (placeholder, value as first written)
    entries: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def placeholder_for(self, entity_type: str, value: str) -> str:
        key = (entity_type, _normalise(value))
        if key not in self.entries:
            number = 1 + sum(1 for kind, _ in self.entries if kind == entity_type)
            self.entries[key] = (f"<{entity_type}_{number}>", value)
        return self.entries[key][0]

    def originals(self) -> dict[str, str]:
        return dict(self.entries.values())

    def to_json(self) -> list[list[str]]:
        return [
            [kind, placeholder, value] for (kind, _), (placeholder, value) in self.entries.items()
        ]

    @classmethod
    def from_json(cls, rows: list[list[str]]) -> PseudonymVault:
        return cls(
            entries={
                (kind, _normalise(value)): (placeholder, value) for kind, placeholder, value in rows
            }
        )


def restore(text: str, vault: PseudonymVault) -> str:
    """Put the requester's own values back in place of their placeholders. ``<TYPE_REDACTED>``
    values (produced by a model) were never kept and stay redacted."""
    originals = vault.originals()
    return PLACEHOLDER_RE.sub(lambda match: originals.get(match.group(0), match.group(0)), text)
