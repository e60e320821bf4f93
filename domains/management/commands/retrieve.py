from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from domains.catalog import MODES
from domains.evaluation import QuestionsError, read_queries
from domains.management.commands._domains import domain_or_error
from domains.models import Passage
from domains.retrieval import search


class Command(BaseCommand):
    help = (
        'Retrieve passages for each query of a JSONL file ({"id", "text"} per line) and write '
        '{"id": query id, "results": [{"id": passage source id, "score": float}, ...]} per line.'
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--domain", required=True)
        parser.add_argument("--queries", required=True, type=Path)
        parser.add_argument("--output", required=True, type=Path)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument(
            "--jurisdiction", help="only passages that apply to this jurisdiction (default: all)"
        )
        parser.add_argument(
            "--mode", choices=MODES, help="override the domain's retrieval mode (default: hybrid)"
        )

    def handle(self, *args, **options) -> None:
        domain = domain_or_error(options["domain"])
        if not 1 <= options["k"] <= 1000:
            raise CommandError("--k must be between 1 and 1000")
        try:
            queries = [record for _, record in read_queries(options["queries"])]
        except QuestionsError as exc:
            raise CommandError(str(exc)) from None
        source_ids = dict(Passage.objects.filter(domain=domain).values_list("id", "source_id"))
        if not source_ids:
            raise CommandError(f"domain {domain.slug!r} has no passages; ingest some first")
        with options["output"].open("w", encoding="utf-8") as output:
            for query in tqdm(
                queries, desc="Retrieving", unit="query", disable=options["verbosity"] == 0
            ):
                hits = search(
                    domain,
                    query["text"],
                    jurisdiction=options["jurisdiction"],
                    k=options["k"],
                    mode=options["mode"],
                    with_similarity=False,
                )
                results = [
                    {"id": source_ids[hit.passage_id], "score": round(hit.score, 6)}
                    for hit in hits
                    if hit.passage_id in source_ids
                ]
                output.write(json.dumps({"id": query["id"], "results": results}) + "\n")
        self.stdout.write(f"wrote {len(queries)} results to {options['output']}")
