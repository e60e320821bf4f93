"""Scoring PII detection against gold spans: token-level, type-agnostic precision, recall and F2.

A token is a run of letters and digits. A gold token (inside a gold span) counts as found when a
detected span covers it entirely; a detected token (covered by a detected span) is correct when it
lies inside a gold span. Recall is also reported per gold entity type.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

TOKEN_RE = re.compile(r"[^\W_]+")


@dataclass
class Score:
    gold_tokens: int = 0
    found_tokens: int = 0
    detected_tokens: int = 0
    correct_tokens: int = 0
    gold_by_type: Counter = field(default_factory=Counter)
    found_by_type: Counter = field(default_factory=Counter)

    def add(
        self, text: str, gold: list[tuple[int, int, str]], detected: list[tuple[int, int]]
    ) -> None:
        for match in TOKEN_RE.finditer(text):
            start, end = match.span()
            gold_type = next((t for s, e, t in gold if s <= start and end <= e), None)
            covered = any(s <= start and end <= e for s, e in detected)
            if gold_type is not None:
                self.gold_tokens += 1
                self.gold_by_type[gold_type] += 1
                if covered:
                    self.found_tokens += 1
                    self.found_by_type[gold_type] += 1
            if covered:
                self.detected_tokens += 1
                self.correct_tokens += gold_type is not None

    @property
    def recall(self) -> float:
        return self.found_tokens / self.gold_tokens if self.gold_tokens else 1.0

    @property
    def precision(self) -> float:
        return self.correct_tokens / self.detected_tokens if self.detected_tokens else 1.0

    def f_beta(self, beta: float = 2.0) -> float:
        p, r = self.precision, self.recall
        if p + r == 0:
            return 0.0
        return (1 + beta**2) * p * r / (beta**2 * p + r)

    def recall_by_type(self) -> dict[str, float]:
        return {t: self.found_by_type[t] / n for t, n in sorted(self.gold_by_type.items())}


def load_gold(records: list[dict]) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Texts and gold spans from presidio-research's generated format."""
    return [
        (
            record["full_text"],
            [(s["start_position"], s["end_position"], s["entity_type"]) for s in record["spans"]],
        )
        for record in records
    ]
