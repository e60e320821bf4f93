from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from domains import evaluation, lexical, retrieval
from domains.embeddings import DEFAULT_EMBEDDING_MODEL, EmbeddingModelMissing, model_path
from domains.ingestion import EVERYWHERE, IngestionError, parse_file
from domains.models import Domain, Passage
from domains.services import corpus_ingest, corpus_reembed

NO_PRIOR = {"length_weight": 0.0, "fragment_penalty": 0.0}
NO_LATE = {"late_weight": 0.0}
EQUAL = {"dense_weight": 1.0, "lexical_weight": 1.0}
# key, label, retrieval mode, settings that replace the domain's. "bm25" and "dense" are the
# baselines; "rrf" fuses our two retrievers the textbook way (1/(60 + rank), equal weights).
RETRIEVERS = [
    ("bm25", "BM25 (bm25s defaults, single words)", None, None),
    ("dense", "dense (faiss, {model})", "dense", None),
    ("lexical", "our BM25 (pairs, rule numbers, k1 0.9)", "lexical", None),
    ("rrf", "hybrid, reciprocal rank fusion", "hybrid", {"fusion": "rrf", **EQUAL, **NO_PRIOR}),
    ("no-prior", "hybrid, as configured, no length prior", "hybrid", NO_PRIOR),
    ("no-late", "hybrid, as configured, no late interaction", "hybrid", NO_LATE),
    ("hybrid", "hybrid, as configured ({fusion})", "hybrid", None),
]


def _list_of(convert, low, high, *, each: str, kind: str):
    """An argparse type: comma-separated values, each from ``low`` to ``high``."""

    def parse(value: str) -> list:
        try:
            values = [convert(part) for part in value.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a comma-separated list of {kind}"
            ) from None
        if not all(low <= item <= high for item in values):
            raise argparse.ArgumentTypeError(f"each {each} must be from {low} to {high}")
        return values

    return parse


_weights = _list_of(float, 0, 1, each="weight", kind="numbers")
_depths = _list_of(int, 1, 1000, each="depth", kind="whole numbers")


class Command(BaseCommand):
    help = (
        "Measure retrieval on a corpus and judged questions: Recall@k, MAP@k, nDCG@k and query "
        "latency (query embedding included) for plain BM25, plain dense retrieval and our hybrid "
        "retrieval, in one run. --lexical-weights and --late-weights add a row per weight, to "
        "choose weights on questions set apart for tuning; --ceilings shows how much a better "
        "reranker of the hybrid's candidates could gain. The corpus is ingested into a benchmark "
        "domain first (quick when unchanged). "
        'Questions: {"id", "text", "relevant": [passage ids or relevance keys]}.'
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--corpus", required=True, type=Path, help="JSONL passages to ingest")
        parser.add_argument("--questions", required=True, type=Path)
        parser.add_argument(
            "--domain",
            default="benchmark",
            help="domain to ingest into and search (default: an inactive 'benchmark' domain)",
        )
        parser.add_argument(
            "--embedding-model",
            help="embedding model name or directory (e.g. one made by embeddings_finetune); "
            "default: the domain's",
        )
        parser.add_argument(
            "--lexical-weights",
            type=_weights,
            default=[],
            metavar="W,W,...",
            help="also measure score fusion with these BM25 weights (the dense weight is 1 - W)",
        )
        parser.add_argument(
            "--late-weights",
            type=_weights,
            default=[],
            metavar="W,W,...",
            help="also measure the hybrid with these late-interaction weights",
        )
        parser.add_argument(
            "--ceilings",
            type=_depths,
            default=[],
            metavar="N,...",
            help="also print, for each N, the Recall@k that a perfect reordering of the hybrid's "
            "N best passages would reach (N candidates per retriever where N exceeds the "
            "configured number)",
        )
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--limit", type=int, help="only the first N questions")
        parser.add_argument("--output", type=Path, help="also write the figures as JSON here")

    def handle(self, *args, **options) -> None:
        try:
            questions = evaluation.read_judged(options["questions"])
        except evaluation.QuestionsError as exc:
            raise CommandError(str(exc)) from None
        if options["limit"]:
            questions = questions[: options["limit"]]
        domain = self._domain(options)
        try:
            drafts = parse_file(options["corpus"], jurisdictions=[EVERYWHERE])
        except IngestionError as exc:
            raise CommandError(str(exc)) from None
        verbose = options["verbosity"] > 0
        corpus_reembed(domain=domain, progress=verbose)
        corpus_ingest(domain=domain, drafts=drafts, actor=None, progress=verbose)
        domain.refresh_from_db()
        keys = {
            pk: (metadata or {}).get("relevance_key", source_id)
            for pk, source_id, metadata in Passage.objects.filter(domain=domain).values_list(
                "id", "source_id", "metadata"
            )
        }
        k = options["k"]
        plain = lexical.PlainBM25(domain)
        retrievers = list(RETRIEVERS)
        for weight in options["lexical_weights"]:
            retrievers.append(
                (
                    f"score-{weight:g}",
                    f"hybrid, score fusion, BM25 weight {weight:g}",
                    "hybrid",
                    {"fusion": "score", "lexical_weight": weight, "dense_weight": 1 - weight},
                )
            )
        for weight in options["late_weights"]:
            retrievers.append(
                (
                    f"late-{weight:g}",
                    f"hybrid, late-interaction weight {weight:g}",
                    "hybrid",
                    {"late_weight": weight},
                )
            )
        figures = {}
        for name, label, mode, overrides in retrievers:

            def ranked_ids(text: str, mode=mode, overrides=overrides) -> list[int]:
                if mode is None:
                    return [pk for pk, _ in plain.search(text, k=k)]
                hits = retrieval.search(
                    domain,
                    text,
                    jurisdiction=None,
                    k=k,
                    mode=mode,
                    with_similarity=False,
                    overrides=overrides,
                )
                return [hit.passage_id for hit in hits]

            ranked_ids(questions[0].text)  # warm
            rows, latencies = [], []
            for question in tqdm(questions, desc=name, unit="q", disable=not verbose):
                started = time.perf_counter()
                found = ranked_ids(question.text)
                latencies.append((time.perf_counter() - started) * 1000)
                ranked = [str(keys.get(pk, "")) for pk in found]
                rows.append(evaluation.scores(ranked, question.relevant, k))
            figures[name] = {
                "label": label.format(
                    model=Path(domain.embedding_model).name,
                    fusion=retrieval.settings_of(domain)["fusion"],
                ),
                **evaluation.mean(rows),
                "p50_ms": evaluation.percentile(latencies, 0.50),
                "p95_ms": evaluation.percentile(latencies, 0.95),
            }
        if options["ceilings"]:
            figures["hybrid"]["ceilings"] = self._ceilings(
                domain, questions, keys, depths=options["ceilings"], k=k, verbose=verbose
            )
        self._report(figures, questions=len(questions), passages=len(keys), k=k, domain=domain)
        if options["output"]:
            options["output"].write_text(json.dumps(figures, indent=2))

    def _ceilings(
        self, domain, questions, keys, *, depths: list[int], k: int, verbose: bool
    ) -> dict[str, float]:
        """Mean best-reordering Recall@k of the hybrid's top N, for each N of ``depths``."""
        depths = sorted(set(depths))
        configured = int(retrieval.settings_of(domain)["candidates"])
        # Up to the configured number of candidates, each top N is a prefix of the ranking the
        # hybrid row measured. A deeper list takes N candidates from each retriever, which can
        # reorder the top too, so each such depth is a run of its own.
        within = [depth for depth in depths if depth <= configured]
        runs = {depth: max(within) if depth <= configured else depth for depth in depths}
        totals = dict.fromkeys(depths, 0.0)
        for question in tqdm(questions, desc="ceilings", unit="q", disable=not verbose):
            rankings = {}
            for run in sorted(set(runs.values())):
                hits = retrieval.search(
                    domain, question.text, jurisdiction=None, k=run, with_similarity=False
                )
                rankings[run] = [str(keys.get(hit.passage_id, "")) for hit in hits]
            for depth, run in runs.items():
                totals[depth] += evaluation.ceiling(rankings[run][:depth], question.relevant, k)
        return {str(depth): total / len(questions) for depth, total in totals.items()}

    def _domain(self, options) -> Domain:
        domain = Domain.objects.filter(slug=options["domain"]).first()
        model = options["embedding_model"]
        if model:
            try:
                model_path(model)
            except EmbeddingModelMissing as exc:
                raise CommandError(str(exc)) from None
        if domain is None:
            domain = Domain.objects.create(
                slug=options["domain"],
                name="Retrieval benchmark",
                is_active=False,  # never offered to users
                embedding_model=model or DEFAULT_EMBEDDING_MODEL,
                retrieval={"top_k": options["k"]},
            )
        elif model and domain.embedding_model != model:
            domain.embedding_model = model
            domain.save(update_fields=["embedding_model", "updated_at"])
        return domain

    def _report(self, figures, *, questions: int, passages: int, k: int, domain: Domain) -> None:
        self.stdout.write(
            f"\n{questions} questions, {passages} passages, k={k}, domain {domain.slug!r}, "
            f"embedding model {domain.embedding_model}"
        )
        header = f"{'retriever':42} {'Recall@' + str(k):>10} {'MAP@' + str(k):>8} {'nDCG@' + str(k):>8} {'p50 ms':>8} {'p95 ms':>8}"
        self.stdout.write(header)
        for row in figures.values():
            self.stdout.write(
                f"{row['label'][:42]:42} {row['recall']:>10.3f} {row['map']:>8.3f} "
                f"{row['ndcg']:>8.3f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}"
            )
        ceilings = figures["hybrid"].get("ceilings")
        if ceilings:
            self.stdout.write(
                f"Recall@{k} of a perfect reordering of the hybrid's top N: "
                + ", ".join(f"N={depth} {value:.3f}" for depth, value in ceilings.items())
            )
        base, ours = figures["bm25"], figures["hybrid"]
        self.stdout.write(
            "hybrid / BM25: "
            + ", ".join(
                f"{name} x{ours[name] / base[name]:.2f}" if base[name] else f"{name} n/a"
                for name in ("recall", "map", "ndcg")
            )
        )
