"""Measure answers: each question through the worker's own pipeline, in this process, once per
mode. ``grounded`` is the service as it is (evidence, constrained generation, verification);
``free`` is the generation it replaced, measured beside it in the same run."""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from assistant.benchmarking import checks, fulltexts
from assistant.benchmarking.free import free_generate, free_screen_output
from assistant.benchmarking.profiles import generative_profiles
from assistant.benchmarking.questions import Question, QuestionsError, read_questions
from assistant.grounding.verify import draft_sentences
from assistant.inquiries import PolicyRefused, inquiry_claim, inquiry_submit
from assistant.inquiries.pipeline.context import Run
from assistant.inquiries.pipeline.run import STEPS, steps_run
from assistant.models import Inquiry
from assistant.selectors import inquiry_content
from compliance.policy import policies, policies_in_force
from domains.models import Domain

MODES = {
    "grounded": STEPS,
    # The same steps up to retrieval, then the free generation of before.
    "free": (*STEPS[:4], free_generate, free_screen_output),
}
ABSTAINED = {Inquiry.Grounding.ABSTAINED, Inquiry.Grounding.NO_PASSAGES}
LOCAL_BACKENDS = ("llama_cpp", "transformers")


@dataclass
class Result:
    id: str
    mode: str
    domain: str
    jurisdiction: str
    answerable: bool
    status: str = ""
    grounding: str = ""
    correct: bool = False
    facts: bool = False
    cited: bool = False
    abstained: bool = False
    notice: bool = False
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    sentences: int = 0
    seconds: float = 0.0
    timings: dict[str, int] = field(default_factory=dict)
    generated_tokens: int = 0
    prompt_tokens: int = 0
    verification: dict[str, Any] = field(default_factory=dict)
    citations: list[str] = field(default_factory=list)
    draft: str = ""  # what the model wrote, before verification
    model_version: str = ""  # of the model that wrote it
    evidence_score: float = 0.0  # of the best unit of evidence
    answer: str = ""
    error: str = ""
    # The draft as verification saw it: its sentences (the model's abstention apart), those
    # kept, those with a [n] marker, whether the model abstained, and whether the kept
    # sentences alone state every fact and rest on evidence with an expected label.
    draft_sentences: int = 0
    kept_sentences: int = 0
    marked_sentences: int = 0
    model_abstained: bool = False
    stated: bool = False


def _modes(value: str) -> list[str]:
    """Mode names, each optionally with ``@backend``: the domains' model profiles then use
    that backend for the mode's questions (``grounded@transformers,grounded@llama_cpp``)."""
    modes = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [
        m
        for m in modes
        if _mode_parts(m)[0] not in MODES or _mode_parts(m)[1] not in {None, *LOCAL_BACKENDS}
    ]
    if not modes or unknown:
        raise CommandError(
            f"--modes: {', '.join(unknown) or 'none given'} (known: {', '.join(MODES)}, "
            f"each optionally @{' or @'.join(LOCAL_BACKENDS)})"
        )
    return modes


def _mode_parts(mode: str) -> tuple[str, str | None]:
    """("grounded", "transformers") for "grounded@transformers"; "free@" names the backend ""."""
    base, at, backend = mode.partition("@")
    return base.partition(":")[0], backend if at else None


def _compared(value: str) -> list[str]:
    """Modes for ``--compare-profiles``: the grounded answer with each generative profile."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if not (n in ("base", "tuned") or re.fullmatch(r"v\d+", n))]
    if len(names) < 2 or unknown or len(set(names)) < len(names):
        raise CommandError(
            "--compare-profiles: two or more of base, tuned (the active fine-tuned version) "
            f"and vN, once each (given: {value!r})"
        )
    return [f"grounded:{name}" for name in names]


class Command(BaseCommand):
    help = (
        "Ask judged questions through the worker's pipeline (policy, screening, refusal rules, "
        "retrieval, evidence, generation, verification) in this process, no HTTP or broker, and "
        "print per mode: correct, fact and citation rates, delivered sentences with a number or "
        "rule reference the cited text lacks, abstention on unanswerable questions, false "
        "refusals, latency and generated tokens. Each question runs in a transaction that is "
        "rolled back: nothing is stored and the audit trail is untouched. Questions: "
        '{"id", "domain", "jurisdiction", "question", "facts": [regex], "cite": [label part]} '
        'or {..., "answerable": false}.'
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--questions", required=True, type=Path)
        parser.add_argument("--domain", help="only the questions of this domain")
        parser.add_argument(
            "--modes", default="free,grounded", help="comma-separated: free, grounded"
        )
        parser.add_argument(
            "--shared-data",
            type=Path,
            help=f"folder with hipaa/ and gdpr/, for questions in domain {fulltexts.SLUG!r}",
        )
        parser.add_argument(
            "--compare-profiles",
            help="instead of --modes: the grounded answer with each generative profile named "
            "(base: the model the domain's definition names; tuned: its active fine-tuned "
            "version from slm_finetune; vN: that version), e.g. base,tuned",
        )
        parser.add_argument("--limit", type=int, help="only the first N questions")
        parser.add_argument("--output", type=Path, help="also write one JSON line per answer here")

    def handle(self, *args, **options) -> None:
        modes = (
            _compared(options["compare_profiles"])
            if options["compare_profiles"]
            else _modes(options["modes"])
        )
        try:
            questions = read_questions(options["questions"])
        except QuestionsError as exc:
            raise CommandError(str(exc)) from None
        if options["domain"]:
            questions = [q for q in questions if q.domain == options["domain"]]
        questions = questions[: options["limit"]] if options["limit"] else questions
        if not questions:
            raise CommandError("no questions to ask (check --domain)")
        verbose = options["verbosity"] > 0
        domains = self._domains({q.domain for q in questions}, options["shared_data"], verbose)
        results: list[Result] = []
        with policies_in_force(policies().with_stand_in(fulltexts.SLUG, like=fulltexts.LIKE)):
            # Models load once, before anything is timed.
            for mode in modes:
                self._ask(questions[0], domains[questions[0].domain], mode)
            for index, question in enumerate(tqdm(questions, unit="q", disable=not verbose)):
                # Alternating the order keeps a slow spell of a shared machine off one mode.
                for mode in modes if index % 2 == 0 else modes[::-1]:
                    results.append(self._ask(question, domains[question.domain], mode))
        self._report(results, modes, options["questions"])
        if options["output"]:
            with options["output"].open("w") as out:
                for result in results:
                    out.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")

    def _domains(
        self, slugs: set[str], shared_data: Path | None, verbose: bool
    ) -> dict[str, Domain]:
        found = {d.slug: d for d in Domain.objects.filter(slug__in=slugs - {fulltexts.SLUG})}
        missing = sorted(slugs - set(found) - {fulltexts.SLUG})
        if missing:
            raise CommandError(
                f"unknown domains {', '.join(missing)}; run: python manage.py domains_sync"
            )
        if fulltexts.SLUG in slugs:
            found[fulltexts.SLUG] = fulltexts.fulltext_domain(shared_data, progress=verbose)
        return found

    def _ask(self, question: Question, domain: Domain, mode: str) -> Result:
        result = Result(
            question.id, mode, question.domain, question.jurisdiction, question.answerable
        )
        with transaction.atomic():
            try:
                self._run(question, domain, mode, result)
            finally:
                # Nothing a benchmark question did is kept: inquiry, audit events, user.
                transaction.set_rollback(True)
        return result

    def _run(self, question: Question, domain: Domain, mode: str, result: Result) -> None:
        if not domain.is_active:
            Domain.objects.filter(pk=domain.pk).update(is_active=True)
        base, backend = _mode_parts(mode)
        profiles = domain.model_backends
        if ":" in mode:
            profiles = generative_profiles(domain, mode.partition(":")[2])
        if backend:
            profiles = [{**p, "backend": backend} for p in profiles]
        if profiles != domain.model_backends:
            Domain.objects.filter(pk=domain.pk).update(model_backends=profiles)
        user = User.objects.create(username="answer-benchmark")
        for role in domain.roles:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        try:
            inquiry = inquiry_submit(
                user=user,
                domain=domain.slug,
                jurisdiction=question.jurisdiction,
                question=question.text,
            )
        except (ValidationError, PermissionDenied, PolicyRefused) as exc:
            result.status, result.error = "rejected", str(exc)
            return
        run = Run(inquiry_claim(inquiry_id=inquiry.id))
        started = time.perf_counter()
        steps_run(run, MODES[base])
        result.seconds = time.perf_counter() - started
        inquiry.refresh_from_db()
        self._score(question, inquiry, run, user, result)

    def _score(self, question: Question, inquiry: Inquiry, run: Run, user, result: Result) -> None:
        result.status, result.grounding = inquiry.status, inquiry.grounding
        result.timings = dict(run.timings)
        result.notice = bool(run.notice)
        if run.generation is not None:
            result.draft = run.generation.text
            result.model_version = run.generation.model_version
            result.generated_tokens = run.generation.completion_tokens
            result.prompt_tokens = run.generation.prompt_tokens
        if run.evidence is not None:
            result.evidence_score = run.evidence.best_score
        if run.verification is not None:
            result.verification = run.verification.summary()
            self._score_draft(question, run, result)
        if inquiry.status != Inquiry.Status.ANSWERED:
            result.error = inquiry.failure_reason
            return
        text = checks.body(inquiry_content(inquiry, viewer=user)["answer"], notice=run.notice)
        result.answer = text
        result.citations = [c["citation"] for c in inquiry.citations]
        claims = checks.unsupported(text, inquiry.citations)
        result.unsupported = [{"sentence": c.sentence, "missing": c.missing} for c in claims]
        result.sentences = len(checks.sentences(text))
        result.abstained = inquiry.grounding in ABSTAINED or checks.abstains(text)
        if question.answerable:
            result.facts = checks.facts_found(text, question.facts)
            result.cited = checks.cites(inquiry.citations, question.cite)
            result.correct = result.facts and result.cited and not result.abstained

    def _score_draft(self, question: Question, run: Run, result: Result) -> None:
        verification = run.verification
        result.model_abstained = verification.model_abstained
        result.draft_sentences = sum(s.reason != "model_abstained" for s in verification.sentences)
        result.kept_sentences = len(verification.kept)
        result.marked_sentences = sum(bool(m) for _, m in draft_sentences(result.draft))
        if question.answerable and verification.kept:
            labels = {e.number: e.citation for e in run.included}
            rested_on = [{"citation": labels[n]} for s in verification.kept for n in s.evidence]
            result.stated = checks.facts_found(
                " ".join(s.text for s in verification.kept), question.facts
            ) and checks.cites(rested_on, question.cite)

    def _report(self, results: list[Result], modes: list[str], path: Path) -> None:
        answerable = sum(r.answerable for r in results if r.mode == modes[0])
        unanswerable = sum(not r.answerable for r in results if r.mode == modes[0])
        self.stdout.write(
            f"\n{path}: {answerable + unanswerable} questions, {answerable} answerable, "
            f"{unanswerable} that the corpus does not answer"
        )
        width = max(9, *(len(mode) for mode in modes))
        header = (
            f"{'mode':{width}} {'correct':>8} {'facts':>6} {'cited':>6} {'unsupported':>12} "
            f"{'abstained':>10} {'false abst.':>11} {'refused':>8} {'notices':>8} {'failed':>7} "
            f"{'p50 s':>6} {'p95 s':>6} {'tokens':>7}"
        )
        self.stdout.write(header)
        figures = {}
        for mode in modes:
            rows = [r for r in results if r.mode == mode]
            figures[mode] = self._figures(rows)
            f = figures[mode]
            self.stdout.write(
                f"{mode:{width}} {f['correct']:>8.3f} {f['facts']:>6.3f} {f['cited']:>6.3f} "
                f"{f['unsupported']:>5}/{f['sentences']:<6} {f['abstained']:>10.3f} "
                f"{f['false_abstentions']:>11} {f['refused']:>8} {f['notices']:>8} "
                f"{f['failed']:>7} {f['p50']:>6.2f} {f['p95']:>6.2f} {f['tokens']:>7.0f}"
            )
        self.stdout.write(
            "correct: every fact in the answer and a citation with an expected label; "
            "unsupported: delivered sentences with a number or rule reference the cited text "
            "lacks / all delivered sentences; abstained: of the unanswerable questions; "
            "tokens: median generated."
        )
        for mode in modes:
            by_domain = {}
            for result in results:
                if result.mode == mode and result.answerable:
                    by_domain.setdefault(result.domain, []).append(result.correct)
            self.stdout.write(
                f"{mode} correct by domain: "
                + ", ".join(f"{d} {sum(v)}/{len(v)}" for d, v in sorted(by_domain.items()))
            )
        baseline = figures[modes[0]]["p50"]
        for mode in modes[1:]:
            if baseline:
                self.stdout.write(
                    f"{mode} / {modes[0]} median latency: x{figures[mode]['p50'] / baseline:.2f}"
                )
        self._report_drafts(results, modes, width)

    def _report_drafts(self, results: list[Result], modes: list[str], width: int) -> None:
        """What the model wrote, where it was asked: the answer step's own measure of it."""
        self.stdout.write(
            f"\n{'drafts':{width}} {'drafted':>8} {'surviving':>10} {'marked':>8} "
            f"{'correct':>8} {'abst. acc.':>10} {'abst. ok':>9} {'abst. wrong':>11} {'tokens':>7}"
        )
        for mode in modes:
            rows = [r for r in results if r.mode == mode and r.verification]
            answerable = [r for r in rows if r.answerable]
            sentences = sum(r.draft_sentences for r in rows)
            written = sum(r.draft_sentences + r.model_abstained for r in rows)
            right = sum(r.model_abstained != r.answerable for r in rows)
            tokens = statistics.median([r.generated_tokens for r in rows]) if rows else 0
            self.stdout.write(
                f"{mode:{width}} {len(rows):>8} "
                f"{sum(r.kept_sentences for r in rows) / max(1, sentences):>10.3f} "
                f"{sum(r.marked_sentences for r in rows) / max(1, written):>8.3f} "
                f"{sum(r.stated for r in answerable) / max(1, len(answerable)):>8.3f} "
                f"{right / max(1, len(rows)):>10.3f} "
                f"{sum(r.model_abstained and not r.answerable for r in rows):>9} "
                f"{sum(r.model_abstained and r.answerable for r in rows):>11} {tokens:>7.0f}"
            )
        for mode in modes:
            by_domain: dict[str, list[Result]] = {}
            for r in results:
                if r.mode == mode and r.verification:
                    by_domain.setdefault(r.domain, []).append(r)
            self.stdout.write(
                f"{mode} drafts by domain (surviving sentences; correct): "
                + ", ".join(
                    f"{d} {sum(r.kept_sentences for r in v)}/{sum(r.draft_sentences for r in v)}; "
                    f"{sum(r.stated for r in v if r.answerable)}/{sum(r.answerable for r in v)}"
                    for d, v in sorted(by_domain.items())
                )
            )
        self.stdout.write(
            "drafted: questions the model was asked; surviving: draft sentences kept by "
            "verification / all (its abstention apart); marked: sentences with a [n] marker; "
            "correct: the model's own answer, answerable questions whose kept sentences alone "
            "state every fact, resting on evidence with an expected label; abst. acc.: the model abstained exactly on "
            "the unanswerable ones; abst. ok / wrong: its abstentions on unanswerable / "
            "answerable questions; tokens: median generated."
        )

    def _figures(self, rows: list[Result]) -> dict[str, Any]:
        answerable = [r for r in rows if r.answerable]
        unanswerable = [r for r in rows if not r.answerable]
        seconds = sorted(r.seconds for r in rows if r.seconds)

        def share(items, attribute) -> float:
            return sum(getattr(r, attribute) for r in items) / len(items) if items else 0.0

        return {
            "correct": share(answerable, "correct"),
            "facts": share(answerable, "facts"),
            "cited": share(answerable, "cited"),
            "unsupported": sum(len(r.unsupported) for r in rows),
            "sentences": sum(r.sentences for r in rows),
            "abstained": share(unanswerable, "abstained"),
            "false_abstentions": sum(r.abstained for r in answerable),
            "refused": sum(r.status == Inquiry.Status.REFUSED for r in rows),
            "notices": sum(r.notice for r in rows),
            "failed": sum(
                r.status not in (Inquiry.Status.ANSWERED, Inquiry.Status.REFUSED) for r in rows
            ),
            "p50": statistics.median(seconds) if seconds else 0.0,
            "p95": seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))] if seconds else 0.0,
            "tokens": statistics.median([r.generated_tokens for r in rows]) if rows else 0,
        }
