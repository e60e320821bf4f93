"""Fine-tune a domain's generative model with LoRA on the CPU and make it the domain's next
generative profile (``var/models/slm/<domain>-v<N>``)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from assistant.backends import BackendError
from assistant.backends.llama_cpp import chat_tokenizer
from assistant.benchmarking import fulltexts
from assistant.benchmarking.questions import Question, QuestionsError, read_questions
from assistant.tuning.examples import abstentions_capped, build_examples, near_duplicates
from assistant.tuning.judged_passages import JudgedPassagesError, judged_examples
from assistant.tuning.lora import Hyperparameters, TrainingError, train, write_manifest
from domains.management.commands._domains import domain_or_error, training_progress
from domains.models import Domain
from domains.services import TUNED_FILES, generative_profile_record


class Command(BaseCommand):
    help = (
        "Fine-tune a domain's generative model (LoRA, on the CPU) on question files: written "
        'answers {"id", "domain", "jurisdiction", "question", "cite", "answer"}, judged '
        'questions {..., "facts", "cite"} or {..., "answerable": false}. Each becomes the exact '
        "prompt the answer step gives the model (retrieval, evidence selection, the domain's "
        "instructions and worked examples) and the answer it should write, checked by the "
        "verifier. The result is the domain's next generative profile, served by llama.cpp."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--domain", required=True)
        parser.add_argument("--examples", required=True, type=Path, nargs="+")
        parser.add_argument(
            "--exclude",
            type=Path,
            nargs="*",
            default=[],
            help="question files never to train on (a benchmark's): questions close to theirs "
            "are left out",
        )
        parser.add_argument("--epochs", type=int, default=3)
        parser.add_argument("--rank", type=int, default=16)
        parser.add_argument("--lr", type=float, default=2e-4)
        parser.add_argument("--max-seq-length", type=int, default=1536)
        parser.add_argument("--max-examples", type=int, help="train on this many, chosen at random")
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--max-steps", type=int, default=0, help="stop after N steps")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--judged-questions",
            type=Path,
            help='questions judged by passage, {"id", "text", "relevant": [keys]} (obliqa_convert '
            "writes them), over --judged-corpus: the gold passage beside BM25 distractors",
        )
        parser.add_argument("--judged-corpus", type=Path, help="the corpus file they are judged on")
        parser.add_argument(
            "--judged-limit", type=int, default=300, help="at most this many of those examples"
        )
        parser.add_argument(
            "--abstention-share",
            type=float,
            default=0.15,
            help="at most this share of the examples teach the abstention (the rest are left "
            "out at random): a model trained on more abstains on questions its evidence answers",
        )
        parser.add_argument(
            "--save-examples", type=Path, help="also write the built examples here (JSON lines)"
        )

    def handle(self, *args, **options) -> None:
        domain = domain_or_error(options["domain"])
        hyper = self._hyperparameters(options)
        questions = self._questions(options, domain)
        verbose = options["verbosity"] > 0
        profile = self._local_profile(domain)
        base = profile["model"]
        domains = self._domains(questions)
        try:
            tokenizer = chat_tokenizer(base)
        except BackendError as exc:
            raise CommandError(str(exc)) from None
        built = build_examples(
            tqdm(questions, desc="Building examples", unit="q", disable=not verbose),
            domains,
            count_tokens=tokenizer.count,
            max_input_tokens=profile.get("max_input_tokens", 1536),
            seed=hyper.seed,
        )
        self.stdout.write(
            f"{len(built.examples)} examples from {len(questions)} questions "
            f"({sum(e.answerable for e in built.examples)} answers, "
            f"{sum(not e.answerable for e in built.examples)} abstentions; "
            f"{sum(not e.retrieved for e in built.examples)} with the cited passage put among "
            "the retrieved ones)"
        )
        if options["judged_questions"]:
            self._add_judged(built, domain, tokenizer, profile, options)
        for reason, count in built.skipped.most_common():
            self.stdout.write(f"  left out {count}: {reason}")
        capped = abstentions_capped(built.examples, options["abstention_share"], hyper.seed)
        if len(capped) < len(built.examples):
            self.stdout.write(
                f"  left out {len(built.examples) - len(capped)} abstentions, for at most "
                f"{options['abstention_share']:.0%} of the examples"
            )
            built.examples = capped
        if options["save_examples"]:
            with options["save_examples"].open("w") as out:
                for example in built.examples:
                    out.write(json.dumps(example.as_json(), ensure_ascii=False) + "\n")
        if not built.examples:
            raise CommandError("no training example could be built")
        last = domain.generative_profiles.order_by("-version").first()
        version = (last.version if last else 0) + 1
        output = Path(settings.MODEL_CACHE_DIR) / "slm" / f"{domain.slug}-v{version}"
        if output.exists():
            raise CommandError(f"{output} already exists; remove it or keep it")
        try:
            manifest = train(
                base,
                built.examples,
                output,
                hyper,
                progress=training_progress(verbose),
                report=lambda message: self.stdout.write(message) if verbose else None,
            )
        except (TrainingError, BackendError) as exc:
            raise CommandError(str(exc)) from None
        manifest["data_sha256"] = built.sha256
        manifest["questions_files"] = [path.name for path in options["examples"]]
        write_manifest(output, manifest)
        generative_profile_record(domain=domain, version=version, model=output, manifest=manifest)
        self.stdout.write(
            f"{domain.slug}: generative profile v{version} ({output}), {manifest['examples']} "
            f"examples, {manifest['steps']} steps in {manifest['training_seconds'] / 60:.1f} min, "
            f"loss {manifest['first_loss']} -> {manifest['final_loss']}"
        )

    def _add_judged(self, built, domain: Domain, tokenizer, profile: dict, options) -> None:
        if not options["judged_corpus"]:
            raise CommandError("--judged-questions needs --judged-corpus")
        try:
            examples, skipped = judged_examples(
                options["judged_questions"],
                options["judged_corpus"],
                domain,
                limit=options["judged_limit"],
                count_tokens=tokenizer.count,
                max_input_tokens=profile.get("max_input_tokens", 1536),
                seed=options["seed"],
            )
        except JudgedPassagesError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{len(examples)} examples from {options['judged_questions'].name} "
            f"({sum(e.answerable for e in examples)} answers, "
            f"{sum(not e.answerable for e in examples)} abstentions)"
        )
        built.examples += examples
        built.skipped.update({f"{reason} (judged)": n for reason, n in skipped.items()})

    def _hyperparameters(self, options) -> Hyperparameters:
        if options["epochs"] < 1 or options["rank"] < 1 or options["batch_size"] < 1:
            raise CommandError("--epochs, --rank and --batch-size must be at least 1")
        if not 0 < options["lr"] < 1:
            raise CommandError("--lr must be between 0 and 1")
        if not 0 <= options["abstention_share"] <= 1:
            raise CommandError("--abstention-share must be between 0 and 1")
        if options["max_seq_length"] < 64 or options["max_steps"] < 0:
            raise CommandError("--max-seq-length must be at least 64 and --max-steps at least 0")
        return Hyperparameters(
            epochs=options["epochs"],
            rank=options["rank"],
            learning_rate=options["lr"],
            max_seq_length=options["max_seq_length"],
            batch_size=options["batch_size"],
            max_steps=options["max_steps"],
            seed=options["seed"],
        )

    def _questions(self, options, domain: Domain) -> list[Question]:
        try:
            questions = [q for path in options["examples"] for q in read_questions(path)]
            excluded = [q for path in options["exclude"] for q in read_questions(path)]
        except QuestionsError as exc:
            raise CommandError(str(exc)) from None
        # The domain's own questions, and those of the benchmark's full-text domain when it
        # stands in for this one (it runs this domain's models).
        ours = {domain.slug} | ({fulltexts.SLUG} if domain.slug == fulltexts.LIKE else set())
        others = sum(q.domain not in ours for q in questions)
        questions = [q for q in questions if q.domain in ours]
        if others:
            self.stdout.write(f"left out {others} questions of other domains")
        if excluded:
            close = near_duplicates(questions, excluded, model=domain.embedding_model)
            questions = [q for q in questions if q.id not in close]
            self.stdout.write(f"left out {len(close)} questions close to an excluded one")
        if options["max_examples"]:
            random.Random(options["seed"]).shuffle(questions)
            questions = questions[: options["max_examples"]]
        return questions

    def _local_profile(self, domain: Domain) -> dict:
        """The domain's first profile that runs in the worker, as its definition names it."""
        for profile in domain.model_backends:
            if profile.get("backend") in TUNED_FILES:
                return {**profile, "model": profile.get("base_model", profile["model"])}
        raise CommandError(
            f"domain {domain.slug!r} has no local model profile ({', '.join(TUNED_FILES)}) "
            "to fine-tune"
        )

    def _domains(self, questions: list[Question]) -> dict[str, Domain]:
        slugs = {q.domain for q in questions}
        found = {d.slug: d for d in Domain.objects.filter(slug__in=slugs)}
        missing = sorted(slugs - set(found))
        if missing:
            raise CommandError(
                f"the examples name unknown domains: {', '.join(missing)} (the benchmark's "
                "full-text domain is made by answer_benchmark --shared-data)"
            )
        return found
