from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from compliance import pii
from compliance.config_files import JsonLinesError, read_json_lines
from compliance.management.commands._entities import entities_for_jurisdiction

BATCH = 64


class Command(BaseCommand):
    help = (
        'Detect personal data: reads {"text": ...} per line of a JSONL file and writes, per line '
        'in the same order, {"spans": [{"start", "end", "entity_type", "score"}]}.'
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--input", required=True, type=Path)
        parser.add_argument("--output", required=True, type=Path)
        parser.add_argument(
            "--jurisdiction",
            help="detect the entity types this jurisdiction's policy redacts (default: every type)",
        )

    def handle(self, *args, **options) -> None:
        entities = entities_for_jurisdiction(options["jurisdiction"])
        texts = _read_texts(options["input"])
        spans = []
        with tqdm(
            total=len(texts), desc="Detecting", unit="text", disable=options["verbosity"] == 0
        ) as bar:
            for start in range(0, len(texts), BATCH):
                batch = texts[start : start + BATCH]
                spans += pii.detect_many(batch, entities=entities)
                bar.update(len(batch))
        with options["output"].open("w", encoding="utf-8") as output:
            for found in spans:
                record = [
                    {
                        "start": e.start,
                        "end": e.end,
                        "entity_type": e.entity_type,
                        "score": round(e.score, 4),
                    }
                    for e in found
                ]
                output.write(json.dumps({"spans": record}) + "\n")
        self.stdout.write(
            f"{len(texts)} texts, {sum(map(len, spans))} spans -> {options['output']}"
        )


def _read_texts(path: Path) -> list[str]:
    # Blank lines are errors here: output line N answers input line N.
    try:
        records = read_json_lines(path, skip_blank=False)
    except JsonLinesError as exc:
        raise CommandError(str(exc)) from exc
    texts = []
    for number, record in records:
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise CommandError(f'{path}:{number}: each line must be {{"text": "..."}}')
        texts.append(record["text"])
    return texts
