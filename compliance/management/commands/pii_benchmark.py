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
        "model) in the same run, on gold files in presidio-research's generated format. Give "
        "--gold once per part (a tuning part, a held-out part ...): each part is scored on its own "
        "and the parts together."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--gold", required=True, type=Path, action="append")
        parser.add_argument("--limit", type=int, help="only the first N texts of each file")
        parser.add_argument(
            "--jurisdiction", help="detect what this policy redacts (default: every type)"
        )

    def handle(self, *args, **options) -> None:
        parts = [(path, _read_gold(path)[: options["limit"]]) for path in options["gold"]]
        entities = entities_for_jurisdiction(options["jurisdiction"])
        quiet = options["verbosity"] == 0
        plain = _plain_presidio()
        plain.analyze("warm up John Smith", language="en")
        pii.detect("warm up John Smith", entities=entities)

        totals = {"plain Presidio": Score(), "ours": Score()}
        seconds = {"plain Presidio": 0.0, "ours": 0.0}
        rows = []
        for path, gold in parts:
            texts = [text for text, _ in gold]
            found = {
                "plain Presidio": _timed(
                    seconds, "plain Presidio", _plain_spans, plain, texts, quiet
                ),
                "ours": _timed(seconds, "ours", _our_spans, entities, texts, quiet),
            }
            scores = {name: Score() for name in found}
            for name, spans in found.items():
                for (text, gold_spans), detected in zip(gold, spans, strict=True):
                    scores[name].add(text, gold_spans, detected)
                    totals[name].add(text, gold_spans, detected)
            self._report(str(path), len(texts), scores)
            rows.append((path.name, len(texts), scores))
        count = sum(n for _, n, _ in rows)
        if len(parts) > 1:
            self._report("all parts", count, totals)
            self.stdout.write("parts (precision / recall, plain Presidio then ours):")
            for name, part_count, scores in rows:
                plain_score, ours = scores["plain Presidio"], scores["ours"]
                self.stdout.write(
                    f"  {name:<34}{part_count:>6}  {plain_score.precision:.3f} / {plain_score.recall:.3f}"
                    f"   {ours.precision:.3f} / {ours.recall:.3f}"
                )
        plain_rate = count / seconds["plain Presidio"]
        ours_rate = count / seconds["ours"]
        self.stdout.write(
            f"texts/s: plain Presidio {plain_rate:.1f}, ours {ours_rate:.1f}; "
            f"throughput ours/plain {ours_rate / plain_rate:.2f}"
        )

    def _report(self, title: str, count: int, scores: dict[str, Score]) -> None:
        self.stdout.write(f"{title}: {count} texts, {scores['ours'].gold_tokens} gold PII tokens")
        self.stdout.write(f"{'detector':<16}{'precision':>10}{'recall':>8}{'F2':>8}")
        for name, score in scores.items():
            self.stdout.write(
                f"{name:<16}{score.precision:>10.3f}{score.recall:>8.3f}{score.f_beta(2):>8.3f}"
            )
        plain_score, ours = scores["plain Presidio"], scores["ours"]
        if plain_score.recall and plain_score.precision:
            self.stdout.write(
                f"ratio ours/plain: recall {ours.recall / plain_score.recall:.2f}, "
                f"precision {ours.precision / plain_score.precision:.2f}"
            )
        self.stdout.write("recall per gold entity type (plain / ours):")
        plain_by_type, ours_by_type = plain_score.recall_by_type(), ours.recall_by_type()
        for entity_type, value in ours_by_type.items():
            tokens = ours.gold_by_type[entity_type]
            self.stdout.write(
                f"  {entity_type:<22}{plain_by_type[entity_type]:>6.2f} /{value:>5.2f}  ({tokens} tokens)"
            )


def _read_gold(path: Path):
    try:
        return load_gold(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"{path}: not a presidio-research gold file ({exc})") from exc


def _timed(seconds: dict[str, float], name: str, function, *args):
    started = time.perf_counter()
    result = function(*args)
    seconds[name] += time.perf_counter() - started
    return result


def _plain_spans(plain, texts: list[str], quiet: bool) -> list[list[tuple[int, int]]]:
    return [
        [(r.start, r.end) for r in plain.analyze(text, language="en")]
        for text in tqdm(texts, desc="Plain Presidio", unit="text", disable=quiet)
    ]


def _our_spans(entities, texts: list[str], quiet: bool) -> list[list[tuple[int, int]]]:
    spans = []
    with tqdm(total=len(texts), desc="Ours", unit="text", disable=quiet) as bar:
        for start in range(0, len(texts), 64):
            batch = texts[start : start + 64]
            spans += [
                [(e.start, e.end) for e in found]
                for found in pii.detect_many(batch, entities=entities)
            ]
            bar.update(len(batch))
    return spans


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
