from __future__ import annotations

import json
import random
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Convert the ObliQA regulatory retrieval set (RegNLP/ObliQADataset) into this project's "
        "formats: corpus.jsonl for ingest, and question files for retrieval_benchmark and "
        "embeddings_finetune. The dev questions are split into a training part, a tuning part "
        "for choosing retrieval settings, and a held-out part that neither ever sees."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", type=Path, help="the ObliQA folder")
        parser.add_argument("--output", type=Path, required=True, help="folder to write to")
        parser.add_argument(
            "--train-fraction", type=float, default=0.5, help="share of dev questions to train on"
        )
        parser.add_argument(
            "--tune-fraction",
            type=float,
            default=0.2,
            help="share of the training part kept apart for choosing retrieval settings",
        )
        parser.add_argument("--seed", type=int, default=13)

    def handle(self, *args, **options) -> None:
        source: Path = options["source"]
        documents = sorted((source / "StructuredRegulatoryDocuments").glob("*.json"))
        if not documents:
            raise CommandError(f"{source}: no StructuredRegulatoryDocuments/*.json found")
        if not 0 < options["train_fraction"] < 1:
            raise CommandError("--train-fraction must be between 0 and 1")
        if not 0 <= options["tune_fraction"] < 1:
            raise CommandError("--tune-fraction must be at least 0 and below 1")
        out: Path = options["output"]
        out.mkdir(parents=True, exist_ok=True)
        passages = 0
        with (out / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
            for path in documents:
                try:
                    rows = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"{path}: {exc}") from None
                for row in rows:
                    if not row.get("Passage", "").strip():
                        continue  # empty placeholders of headings with nothing under them
                    record = {
                        "id": row["ID"],
                        "text": row["Passage"],
                        "metadata": {
                            "document_id": row["DocumentID"],
                            "passage_id": row["PassageID"],
                            # Gold answers name (document, passage); a few pairs repeat.
                            "relevance_key": f"{row['DocumentID']}:{row['PassageID']}",
                        },
                    }
                    corpus.write(json.dumps(record, ensure_ascii=False) + "\n")
                    passages += 1
        written = {"corpus.jsonl": passages}
        dev = self._questions(source / "ObliQA_dev.json")
        random.Random(options["seed"]).shuffle(dev)
        cut = int(len(dev) * options["train_fraction"])
        # The tuning part comes off the end of the training part, so the held-out part stays the
        # same whatever --tune-fraction is.
        tune_cut = cut - round(cut * options["tune_fraction"])
        written["dev-train.jsonl"] = self._write(out / "dev-train.jsonl", dev[:tune_cut])
        written["dev-tune.jsonl"] = self._write(out / "dev-tune.jsonl", dev[tune_cut:cut])
        written["dev-heldout.jsonl"] = self._write(out / "dev-heldout.jsonl", dev[cut:])
        multi = source / "ObliQA_MultiPassage_val.json"
        if multi.exists():
            # Some validation questions repeat dev questions; those in the training or tuning
            # part go, so that figures on this file stay held out.
            trained = {q["text"] for q in dev[:cut]}
            held_out = [q for q in self._questions(multi) if q["text"] not in trained]
            written["multipassage-val.jsonl"] = self._write(
                out / "multipassage-val.jsonl", held_out
            )
        for name, count in written.items():
            self.stdout.write(f"{out / name}: {count}")

    def _questions(self, path: Path) -> list[dict]:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        return [
            {
                "id": row["QuestionID"],
                "text": row["Question"],
                "relevant": sorted(
                    {f"{p['DocumentID']}:{p['PassageID']}" for p in row["Passages"]}
                ),
            }
            for row in rows
        ]

    def _write(self, path: Path, questions: list[dict]) -> int:
        with path.open("w", encoding="utf-8") as handle:
            for question in questions:
                handle.write(json.dumps(question, ensure_ascii=False) + "\n")
        return len(questions)
