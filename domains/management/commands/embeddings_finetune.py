from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from compliance.models import AuditEvent
from compliance.services import audit_event_record
from domains.embeddings import EmbeddingModelMissing, model_path
from domains.evaluation import QuestionsError
from domains.finetune import FinetuneError, examples_for, train
from domains.judging import read_training_questions
from domains.management.commands._domains import domain_or_error, training_progress
from domains.models import EmbeddingProfile
from domains.services import corpus_reembed


class Command(BaseCommand):
    help = (
        "Fine-tune a domain's embedding model on its (question, passage) pairs, save it as the "
        "domain's next embedding profile version and re-embed the corpus with it. Questions: "
        '{"id", "text", "relevant": [passage ids or relevance keys]} per line, or answer_benchmark '
        "questions, whose relevant passages are those with the cited label that state the facts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--domain", required=True)
        parser.add_argument(
            "--questions",
            required=True,
            type=Path,
            nargs="+",
            help="files of questions judged by passage or, as answer_benchmark's, by citation",
        )
        parser.add_argument(
            "--base",
            help="model to start from (default: the model the domain's profiles start from)",
        )
        parser.add_argument("--epochs", type=int, default=3)
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--learning-rate", type=float, default=5e-5)
        parser.add_argument(
            "--max-seq-length",
            type=int,
            default=128,
            help="token limit while training (faster); embedding uses the model's own",
        )
        parser.add_argument(
            "--no-hard-negatives", action="store_true", help="only in-batch negatives"
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options) -> None:
        domain = domain_or_error(options["domain"])
        try:
            questions = [
                question
                for path in options["questions"]
                for question in read_training_questions(domain, path)
            ]
        except QuestionsError as exc:
            raise CommandError(str(exc)) from None
        if options["epochs"] < 1 or options["batch_size"] < 2:
            raise CommandError("--epochs must be at least 1 and --batch-size at least 2")
        first = domain.embedding_profiles.order_by("version").first()
        base = options["base"] or (first.base_model if first else domain.embedding_model)
        try:
            model_path(base)
        except EmbeddingModelMissing as exc:
            raise CommandError(str(exc)) from None
        examples, unmatched = examples_for(
            domain, questions, hard_negatives=not options["no_hard_negatives"], seed=options["seed"]
        )
        self.stdout.write(
            f"{len(examples)} training pairs from {len(questions) - unmatched} questions"
            + (
                f" ({unmatched} name no passage of {domain.slug!r} and are skipped)"
                if unmatched
                else ""
            )
        )
        last = domain.embedding_profiles.order_by("-version").first()
        version = (last.version if last else 0) + 1
        output = Path(settings.MODEL_CACHE_DIR) / "embeddings" / f"{domain.slug}-v{version}"
        if output.exists():
            raise CommandError(f"{output} already exists; remove it or keep it")

        try:
            record = train(
                base,
                examples,
                output,
                epochs=options["epochs"],
                batch_size=options["batch_size"],
                learning_rate=options["learning_rate"],
                max_seq_length=options["max_seq_length"],
                seed=options["seed"],
                progress=training_progress(options["verbosity"] > 0),
            )
        except FinetuneError as exc:
            raise CommandError(str(exc)) from None
        record["questions_file"] = ", ".join(path.name for path in options["questions"])
        with transaction.atomic():
            domain.embedding_profiles.update(active=False)
            EmbeddingProfile.objects.create(
                domain=domain, version=version, model=str(output), base_model=base, details=record
            )
            domain.embedding_model = str(output)
            domain.save(update_fields=["embedding_model", "updated_at"])
            audit_event_record(
                actor=None,
                event_type=AuditEvent.Type.DOMAIN_CHANGED,
                outcome=AuditEvent.Outcome.SUCCESS,
                domain=domain.slug,
                details={"change": "embedding_profile", "version": version, **record},
            )
        count = corpus_reembed(domain=domain, progress=options["verbosity"] > 0)
        self.stdout.write(
            f"{domain.slug}: embedding profile v{version} ({output}), trained on "
            f"{record['examples']} pairs in {record['steps']} steps; re-embedded {count} passages"
        )
