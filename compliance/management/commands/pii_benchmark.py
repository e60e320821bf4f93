from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from compliance import pii
from compliance.management.commands._entities import entities_for_jurisdiction
from compliance.pii_eval import Score, load_gold


class Command(BaseCommand):
    help = (
        "Token-level precision, recall and F2 (type-agnostic), recall per gold entity type and "
        "texts/second, for our detector and for plain Presidio (default recognizers, same spaCy "
        "model) in the same run, on a gold file in presidio-research's generated format."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--gold", required=True, type=Path)
        parser.add_argument("--limit", type=int, help="only the first N texts")
        parser.add_argument(
            "--jurisdiction", help="detect what this policy redacts (default: every type)"
        )

    def handle(self, *args, **options) -> None:
        try:
            records = json.loads(options["gold"].read_text(encoding="utf-8"))
            gold = load_gold(records)[: options["limit"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                f"{options['gold']}: not a presidio-research gold file ({exc})"
            ) from exc
        entities = entities_for_jurisdiction(options["jurisdiction"])
        texts = [text for text, _ in gold]
        quiet = options["verbosity"] == 0

        plain = _plain_presidio()
        plain.analyze("warm up John Smith", language="en")
        started = time.perf_counter()
        plain_spans = [
            [(r.start, r.end) for r in plain.analyze(text, language="en")]
            for text in tqdm(texts, desc="Plain Presidio", unit="text", disable=quiet)
        ]
        plain_rate = len(texts) / (time.perf_counter() - started)

        pii.detect("warm up John Smith", entities=entities)
        started = time.perf_counter()
        ours_spans = []
        with tqdm(total=len(texts), desc="Ours", unit="text", disable=quiet) as bar:
            for start in range(0, len(texts), 64):
                batch = texts[start : start + 64]
                ours_spans += [
                    [(e.start, e.end) for e in found]
                    for found in pii.detect_many(batch, entities=entities)
                ]
                bar.update(len(batch))
        ours_rate = len(texts) / (time.perf_counter() - started)

        scores = {"plain Presidio": Score(), "ours": Score()}
        for (text, spans), plain_found, ours_found in zip(
            gold, plain_spans, ours_spans, strict=True
        ):
            scores["plain Presidio"].add(text, spans, plain_found)
            scores["ours"].add(text, spans, ours_found)
        rates = {"plain Presidio": plain_rate, "ours": ours_rate}

        self.stdout.write(
            f"{options['gold']}: {len(texts)} texts, {scores['ours'].gold_tokens} gold PII tokens"
        )
        self.stdout.write(f"{'detector':<16}{'precision':>10}{'recall':>8}{'F2':>8}{'texts/s':>10}")
        for name, score in scores.items():
            self.stdout.write(
                f"{name:<16}{score.precision:>10.3f}{score.recall:>8.3f}{score.f_beta(2):>8.3f}{rates[name]:>10.1f}"
            )
        plain_score, ours = scores["plain Presidio"], scores["ours"]
        self.stdout.write(
            f"ratio ours/plain: recall {ours.recall / plain_score.recall:.2f}, "
            f"precision {ours.precision / plain_score.precision:.2f}, "
            f"throughput {ours_rate / plain_rate:.2f}"
        )
        self.stdout.write("recall per gold entity type (plain / ours):")
        plain_by_type, ours_by_type = plain_score.recall_by_type(), ours.recall_by_type()
        for entity_type, value in ours_by_type.items():
            count = ours.gold_by_type[entity_type]
            self.stdout.write(
                f"  {entity_type:<20}{plain_by_type[entity_type]:>6.2f} /{value:>5.2f}  ({count} tokens)"
            )


def _plain_presidio():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": pii.SPACY_MODEL}],
        }
    )
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
