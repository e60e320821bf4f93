"""Hybrid retrieval: dense (faiss) and lexical (BM25) candidates, fused.

The default fusion rescales each retriever's scores over its own candidate list (best 1, the
last candidate 0) and takes a weighted sum. Unlike reciprocal rank fusion, which keeps only the
ranks, it knows when one retriever is much surer of its first passage than of its second. On
ObliQA's held-out questions it beat RRF on MAP@10 by 0.025 to 0.05 and matched or beat it on
Recall@10 (docs/retrieval.md, measured figures); the weights were chosen on other questions. RRF stays
available.

The fused candidates are then rescored by late interaction (``with_late_interaction``): the
question's token vectors against each candidate's, stored at embedding time, from the same pass of
the model that embeds the question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from domains import index, lexical, tokens
from domains.catalog import RETRIEVAL_DEFAULTS, Mode
from domains.embeddings import encode
from domains.models import Domain

# Fewer words than this is a heading or a fragment ("Application", "Guidance"), seldom an answer.
FRAGMENT_WORDS = 8


@dataclass(frozen=True)
class Hit:
    passage_id: int
    score: float  # the fused score in hybrid mode, else the retriever's own
    # cosine similarity of query and passage, for the relevance threshold
    similarity: float


def settings_of(domain: Domain) -> dict:
    return {**RETRIEVAL_DEFAULTS, **(domain.retrieval or {})}


def search(
    domain: Domain,
    query: str,
    *,
    jurisdiction: str | None,
    k: int,
    mode: Mode | None = None,
    with_similarity: bool = True,
    overrides: dict | None = None,
) -> list[Hit]:
    """The best ``k`` passages for ``query`` among those that apply to ``jurisdiction``
    (``None``: all), best first. ``with_similarity=False`` skips embedding the query where
    ranking does not need it (plain BM25 in a benchmark); ``overrides`` replace some of the
    domain's retrieval settings (a benchmark comparing fusions)."""
    config = {**settings_of(domain), **(overrides or {})}
    mode = mode or config["mode"]
    candidates = max(k, int(config["candidates"]))
    dense: list[tuple[int, float]] = []
    sparse: list[tuple[int, float]] = []
    vector = query_tokens = None
    if mode in ("hybrid", "dense") or with_similarity:
        encoded = encode([query], model=domain.embedding_model)
        vector, query_tokens = encoded.vectors[0], encoded.tokens[0]
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
        fused = fuse(dense, sparse, config)
        # Both adjustments are on the rescaled scores' scale; on RRF's (about 1/60) their values
        # would outweigh the ranks themselves.
        if config["fusion"] == "score":
            if config["length_weight"] or config["fragment_penalty"]:
                fused = with_length_prior(
                    fused, lexical.word_counts(domain, [pk for pk, _ in fused]), config
                )
            if config["late_weight"]:
                fused = fused[:candidates]
                fused = with_late_interaction(
                    fused, query_tokens, tokens.vectors(domain, [pk for pk, _ in fused]), config
                )
        ranked = fused[:k]
    missing = [pk for pk, _ in ranked if pk not in similarity]
    if missing and vector is not None:
        similarity.update(index.similarities(domain, vector, missing))
    return [Hit(pk, float(score), round(similarity.get(pk, 0.0), 4)) for pk, score in ranked]


def fuse(
    dense: list[tuple[int, float]], sparse: list[tuple[int, float]], config: dict
) -> list[tuple[int, float]]:
    """Both candidate lists (best first) as one, best first."""
    fused: dict[int, float] = {}
    for weight, hits in ((config["dense_weight"], dense), (config["lexical_weight"], sparse)):
        if config["fusion"] == "rrf":
            contributions = [
                (pk, 1 / (config["rrf_k"] + rank + 1)) for rank, (pk, _) in enumerate(hits)
            ]
        else:
            contributions = _rescaled(hits)
        for pk, value in contributions:
            fused[pk] = fused.get(pk, 0.0) + weight * value
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _rescaled(hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scores mapped onto 0..1 over the list: a passage outside it scored no higher than the
    last one, so 0 is its share too."""
    if not hits:
        return []
    top, floor = hits[0][1], hits[-1][1]
    span = top - floor
    return [(pk, (score - floor) / span if span > 0 else 1.0) for pk, score in hits]


def with_length_prior(
    fused: list[tuple[int, float]], words: dict[int, int], config: dict
) -> list[tuple[int, float]]:
    """Fused scores nudged towards passages with more to say: up with the logarithm of the
    passage's words, and down for a heading or fragment. Passages that only state a heading
    crowd the top of both retrievers for questions that repeat a section's title, yet seldom
    answer them."""
    adjusted = []
    for pk, score in fused:
        count = words.get(pk, FRAGMENT_WORDS)
        score += config["length_weight"] * math.log1p(count)
        if count < FRAGMENT_WORDS:
            score -= config["fragment_penalty"]
        adjusted.append((pk, score))
    return sorted(adjusted, key=lambda item: (-item[1], item[0]))


def with_late_interaction(
    fused: list[tuple[int, float]],
    query_tokens: np.ndarray,
    passages: dict[int, np.ndarray],
    config: dict,
) -> list[tuple[int, float]]:
    """Fused scores plus ``late_weight`` times each passage's late-interaction score (ColBERT's
    MaxSim: for each word piece of the question, its best cosine with any of the passage's),
    rescaled over the list like the retrievers' scores. The sentence vector averages a passage's
    tokens away; this keeps "which words of the question does the passage answer". Unchanged
    when a candidate has no token vectors (stored before they existed)."""
    if not fused or any(pk not in passages for pk, _ in fused):
        return fused
    import torch  # loaded already by the model that embedded the question

    # [CLS] and [SEP] match every passage's own and say nothing about the question.
    question = query_tokens[1:-1] if len(query_tokens) > 2 else query_tokens
    # One product in torch for all candidates (numpy's BLAS threads would slow the next query's
    # embedding, see ``embeddings.token_rows``); then each passage's rows, best per question word.
    rows = [passages[pk] for pk, _ in fused]
    products = (
        torch.from_numpy(np.concatenate(rows)).float()
        @ torch.from_numpy(np.asarray(question, dtype=np.float32)).T
    )
    late = [
        (pk, float(block.max(dim=0).values.mean()))
        for (pk, _), block in zip(fused, products.split([len(r) for r in rows]), strict=True)
    ]
    rescaled = dict(_rescaled(sorted(late, key=lambda item: -item[1])))
    adjusted = [(pk, score + config["late_weight"] * rescaled[pk]) for pk, score in fused]
    return sorted(adjusted, key=lambda item: (-item[1], item[0]))
