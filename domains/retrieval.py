"""Hybrid retrieval: dense (faiss) and lexical (BM25) candidates fused by reciprocal rank.

Reciprocal rank fusion needs no score calibration between the two retrievers, which have
incomparable scales, and is robust to either one missing a passage entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from domains import index, lexical
from domains.embeddings import embed
from domains.models import Domain

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
DEFAULTS = {
    "mode": "hybrid",
    "candidates": 100,
    "rrf_k": 60,
    "dense_weight": 1.0,
    "lexical_weight": 1.0,
}


@dataclass(frozen=True)
class Hit:
    passage_id: int
    score: float  # the fused score in hybrid mode, else the retriever's own
    # cosine similarity of query and passage, for the relevance threshold
    similarity: float


def settings_of(domain: Domain) -> dict:
    return {**DEFAULTS, **(domain.retrieval or {})}


def search(
    domain: Domain,
    query: str,
    *,
    jurisdiction: str | None,
    k: int,
    mode: Mode | None = None,
    with_similarity: bool = True,
) -> list[Hit]:
    """The best ``k`` passages for ``query`` among those that apply to ``jurisdiction``
    (``None``: all), best first. ``with_similarity=False`` skips embedding the query where
    ranking does not need it (plain BM25 in a benchmark)."""
    config = settings_of(domain)
    mode = mode or config["mode"]
    candidates = max(k, int(config["candidates"]))
    dense: list[tuple[int, float]] = []
    sparse: list[tuple[int, float]] = []
    vector = None
    if mode in ("hybrid", "dense") or with_similarity:
        vector = embed([query], model=domain.embedding_model)[0]
    if mode in ("hybrid", "dense"):
        dense = index.search(domain, vector, jurisdiction=jurisdiction, k=candidates)
    if mode in ("hybrid", "lexical"):
        sparse = lexical.search(domain, query, jurisdiction=jurisdiction, k=candidates)
    similarity = dict(dense)
    if mode == "dense":
        ranked = dense[:k]
    elif mode == "lexical":
        ranked = sparse[:k]
    else:
        fused: dict[int, float] = {}
        for weight, hits in ((config["dense_weight"], dense), (config["lexical_weight"], sparse)):
            for rank, (pk, _) in enumerate(hits):
                fused[pk] = fused.get(pk, 0.0) + weight / (config["rrf_k"] + rank + 1)
        ranked = sorted(fused.items(), key=lambda item: -item[1])[:k]
    missing = [pk for pk, _ in ranked if pk not in similarity]
    if missing and vector is not None:
        similarity.update(index.similarities(domain, vector, missing))
    return [Hit(pk, float(score), round(similarity.get(pk, 0.0), 4)) for pk, score in ranked]
