"""Retrieval metrics, by the conventions in the data README: Recall@k, MAP@k with denominator
min(#relevant, k) and nDCG@k, a relevant item counted once however many passages share its
relevance key."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from compliance.config_files import JsonLinesError, read_json_lines


class QuestionsError(Exception):
    pass


@dataclass(frozen=True)
class JudgedQuestion:
    id: str
    text: str
    relevant: frozenset[str]


def read_queries(path: Path) -> list[tuple[int, dict]]:
    """``{"id", "text", ...}`` per line, with their line numbers; errors name the file and
    line."""
    try:
        records = read_json_lines(path)
    except JsonLinesError as exc:
        raise QuestionsError(str(exc)) from None
    for number, record in records:
        if not isinstance(record, dict) or "id" not in record:
            raise QuestionsError(f"{path}:{number}: each line needs an 'id' and a 'text'")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise QuestionsError(f"{path}:{number}: 'text' must be a non-empty string")
    if not records:
        raise QuestionsError(f"{path}: contains no queries")
    return records


def read_judged(path: Path) -> list[JudgedQuestion]:
    """Queries with ``"relevant": [keys]`` as well."""
    questions = []
    for number, record in read_queries(path):
        relevant = record.get("relevant")
        if not isinstance(relevant, list) or not relevant:
            raise QuestionsError(f"{path}:{number}: 'relevant' must be a non-empty list")
        questions.append(
            JudgedQuestion(str(record["id"]), record["text"], frozenset(map(str, relevant)))
        )
    return questions


def scores(ranked_keys: list[str], relevant: frozenset[str], k: int = 10) -> dict[str, float]:
    seen: set[str] = set()
    hits = []
    for key in ranked_keys[:k]:
        hit = key in relevant and key not in seen
        if hit:
            seen.add(key)
        hits.append(hit)
    found = 0
    precision_sum = 0.0
    for position, hit in enumerate(hits, start=1):
        if hit:
            found += 1
            precision_sum += found / position
    ideal = min(len(relevant), k)
    dcg = sum(1 / math.log2(position + 1) for position, hit in enumerate(hits, start=1) if hit)
    idcg = sum(1 / math.log2(position + 1) for position in range(1, ideal + 1))
    return {
        "recall": len(seen) / len(relevant),
        "map": precision_sum / ideal,
        "ndcg": dcg / idcg,
    }


def ceiling(ranked_keys: list[str], relevant: frozenset[str], k: int = 10) -> float:
    """Recall@k of the best reordering of ``ranked_keys``: how much of the answer a perfect
    reranker of these candidates could bring into the first ``k``. What no reordering reaches
    is for candidate generation to find."""
    return min(len(relevant & set(ranked_keys)), k) / len(relevant)


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {name: sum(row[name] for row in rows) / len(rows) for name in rows[0]}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]
