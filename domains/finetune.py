"""Domain fine-tuning of the embedding model: (question, passage) pairs of one domain, trained
with multiple-negatives ranking loss (every other passage in a batch is a negative) plus one
hard negative per pair, drawn from BM25's best passages that do not answer the question."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domains import lexical
from domains.embeddings import model_path
from domains.evaluation import JudgedQuestion
from domains.ingestion import passage_text
from domains.models import Domain, Passage
from domains.retrieval import FRAGMENT_WORDS

# BM25's top passages for a question, from which each pair's hard negative is drawn.
HARD_NEGATIVE_POOL = 30


class FinetuneError(Exception):
    pass


@dataclass(frozen=True)
class Example:
    question: str
    positive: str
    negative: str | None


def examples_for(
    domain: Domain, questions: list[JudgedQuestion], *, hard_negatives: bool, seed: int = 0
) -> tuple[list[Example], int]:
    """Training examples, and how many questions named no passage of the domain."""
    texts: dict[str, str] = {}
    bodies: dict[str, str] = {}
    by_pk: dict[int, str] = {}
    for pk, source_id, citation, title, text, metadata in Passage.objects.filter(
        domain=domain
    ).values_list("id", "source_id", "citation", "title", "text", "metadata"):
        key = str((metadata or {}).get("relevance_key", source_id))
        texts.setdefault(key, passage_text(citation, title, text, source_id))
        bodies.setdefault(key, " ".join(text.split()))
        by_pk[pk] = key
    rng = random.Random(seed)
    examples: list[Example] = []
    unmatched = 0
    for question in questions:
        positives = [key for key in sorted(question.relevant) if key in texts]
        if not positives:
            unmatched += 1
            continue
        negatives: list[str] = []
        if hard_negatives:
            negatives = _hard_negatives(domain, question, positives, by_pk, bodies)
            if not negatives:  # a small corpus: any passage that does not answer
                others = [key for key in texts if key not in question.relevant]
                negatives = [rng.choice(others)] if others else []
        for key in positives:
            negative = texts[rng.choice(negatives)] if negatives else None
            examples.append(Example(question.text, texts[key], negative))
    return examples, unmatched


def _hard_negatives(
    domain: Domain,
    question: JudgedQuestion,
    positives: list[str],
    by_pk: dict[int, str],
    bodies: dict[str, str],
) -> list[str]:
    """BM25's best passages for the question that do not answer it. A passage whose text is
    an answer's (the same rule repeated in another document) would teach the model to push the
    answer away, and a heading teaches nothing, so neither is used."""
    answers = {bodies[key] for key in positives}
    negatives = []
    for pk, _ in lexical.search(domain, question.text, jurisdiction=None, k=HARD_NEGATIVE_POOL):
        key = by_pk.get(pk)
        if (
            key is not None
            and key not in question.relevant
            and bodies[key] not in answers
            and len(bodies[key].split()) >= FRAGMENT_WORDS
        ):
            negatives.append(key)
    return negatives


def train(
    base_model: str,
    examples: list[Example],
    output: Path,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    max_seq_length: int,
    seed: int = 0,
    progress: Callable[[int], Callable[[float], None]] | None = None,
) -> dict:
    """Fine-tune ``base_model`` and save it to ``output``; return what was done."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers 6 moved the losses; 5 has them at the old path
        from sentence_transformers.sentence_transformer.losses import (
            MultipleNegativesRankingLoss,
        )
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss

    if not examples:
        raise FinetuneError("no training examples: no question names a passage of the domain")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(model_path(base_model)), device="cpu")
    serving_length = model.max_seq_length
    # Shorter sequences train several times faster; passages are embedded at full length.
    model.max_seq_length = max_seq_length
    loss = MultipleNegativesRankingLoss(model)
    # sentence-transformers 6 renamed tokenize (now deprecated, with a warning) to preprocess.
    prepare = getattr(model, "preprocess", None) or model.tokenize
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    steps = epochs * -(-len(examples) // batch_size)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (steps - step) / steps)
    )
    tick = progress(steps) if progress else (lambda _: None)
    with_negatives = all(e.negative for e in examples)
    model.train()
    last = 0.0
    for _ in range(epochs):
        order = list(examples)
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            columns = [[e.question for e in batch], [e.positive for e in batch]]
            if with_negatives:
                columns.append([e.negative for e in batch])
            features = [prepare(column) for column in columns]
            value = loss(features, None)
            value.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            last = float(value.item())
            tick(last)
    model.max_seq_length = serving_length
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(output))
    record = {
        "base_model": base_model,
        "examples": len(examples),
        "hard_negatives": with_negatives,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "train_max_seq_length": max_seq_length,
        "steps": steps,
        "final_loss": round(last, 4),
    }
    (output / "finetune.json").write_text(json.dumps(record, indent=2))
    return record
