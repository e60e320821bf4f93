"""The compliance pipeline with the real models, run in-process (the queue is covered by
tests/integration)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from assistant import inquiries, tasks
from assistant.backends import BackendError
from assistant.celery import TransientError
from assistant.grounding.verify import Checked, Verification
from assistant.inquiries import claims
from assistant.inquiries.pipeline import run as pipeline
from assistant.inquiries.pipeline.context import Run
from assistant.inquiries.pipeline.decide import decide
from assistant.inquiries.pipeline.generate import generate
from assistant.inquiries.pipeline.retrieve import retrieve
from assistant.inquiries.pipeline.route import route
from assistant.inquiries.pipeline.run import STEPS, RetryLater, inquiry_run, steps_run
from assistant.inquiries.pipeline.screen_input import screen_input
from assistant.inquiries.pipeline.screen_output import screen_output
from assistant.inquiries.pipeline.select_evidence import select_evidence
from assistant.inquiries.pipeline.verify import verify
from assistant.models import Inquiry
from assistant.selectors import inquiry_content
from compliance import pii
from compliance.crypto import ContentKey
from compliance.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

QUESTION = (
    "My patient John Smith, MRN 4455667, had his chart exposed. How long does a covered entity "
    "have to notify individuals of a breach of unsecured PHI?"
)
CANARIES = ["John Smith", "4455667"]


def submit(user, question=QUESTION, domain="healthcare", jurisdiction="US") -> Inquiry:
    return inquiries.inquiry_submit(
        user=user, domain=domain, jurisdiction=jurisdiction, question=question
    )


def claimed_run(inquiry: Inquiry, *steps) -> Run:
    """A worker's run of the inquiry, claimed and opened, after ``steps``."""
    run = Run(claims.inquiry_claim(inquiry_id=inquiry.id))
    run.open()
    for step in steps:
        step(run)
    return run


# An entity type no recognizer knows makes detection fail (PiiDetectionError), as a broken
# analyzer would.
UNDETECTABLE = "SHOE_SIZE"


def events(inquiry):
    return list(
        AuditEvent.objects.filter(inquiry_id=inquiry.id).values_list("event_type", "outcome")
    )


def all_text_in_database() -> str:
    """Every text and JSON column of every project table, as stored."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if not table.startswith(
                ("assistant_", "compliance_", "domains_", "auth_", "django_session")
            ):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                chunks += [str(value) for value in row if isinstance(value, str)]
    return "\n".join(chunks)


def test_breach_question_is_answered_with_the_60_day_rule_and_pii_redacted(
    catalog_domains, clinician, queued_ids
):
    inquiry = submit(clinician)
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()

    assert inquiry.status == "answered", inquiry.failure_reason
    content = inquiry_content(inquiry, viewer=clinician)
    assert content["redacted_question"].startswith(
        "My patient <PERSON_1>, MRN <MEDICAL_RECORD_NUMBER_1>, had"
    )
    assert inquiry.question_entities == {"MEDICAL_RECORD_NUMBER": 1, "PERSON": 1}
    # The rule is quoted with its citation, and nothing the evidence does not say is delivered.
    assert "60 calendar days" in content["answer"]
    assert '45 CFR 164.404(b): "' in content["answer"]
    cited = next(c for c in inquiry.citations if c["passage_id"] == "hc-hipaa-164-404-b")
    assert cited["citation"] == "45 CFR 164.404(b)"
    assert "60 calendar days" in cited["quote"]
    assert cited["text"][cited["start"] : cited["end"]] == cited["quote"]
    assert inquiry.grounding in {"verified", "quoted"}
    assert inquiry.model_id == "smollm2-135m-instruct"
    assert inquiry.model_version.startswith("sha256:")
    assert set(inquiry.timings) >= {
        "screen_input_ms",
        "retrieve_ms",
        "generate_ms",
        "screen_output_ms",
        "total_ms",
    }

    vault = pii.PseudonymVault.from_json(
        json.loads(ContentKey.unwrap(inquiry.content_key_wrapped).decrypt(inquiry.vault_ciphertext))
    )
    assert vault.originals() == {"<PERSON_1>": "John Smith", "<MEDICAL_RECORD_NUMBER_1>": "4455667"}

    stored = all_text_in_database()
    for canary in CANARIES:
        assert canary not in stored

    assert events(inquiry) == [
        ("inquiry.received", "success"),
        ("inquiry.screened", "success"),
        ("inquiry.policy_decided", "success"),
        ("inquiry.retrieved", "success"),
        ("inquiry.evidence_selected", "success"),
        ("inquiry.generated", "success"),
        ("inquiry.verified", "success"),
        ("inquiry.output_screened", "success"),
        ("inquiry.answered", "success"),
    ]
    screened = AuditEvent.objects.get(inquiry_id=inquiry.id, event_type="inquiry.screened")
    assert screened.details["entities"] == {"MEDICAL_RECORD_NUMBER": 1, "PERSON": 1}


def test_running_twice_answers_once_with_one_set_of_audit_events(
    catalog_domains, clinician, queued_ids
):
    inquiry = submit(clinician)
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    first = (inquiry.status, inquiry.answer_ciphertext, inquiry.attempts)
    audit_count = AuditEvent.objects.filter(inquiry_id=inquiry.id).count()

    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.answer_ciphertext, inquiry.attempts) == first
    assert AuditEvent.objects.filter(inquiry_id=inquiry.id).count() == audit_count
    assert (
        AuditEvent.objects.filter(inquiry_id=inquiry.id, event_type="inquiry.answered").count() == 1
    )


def test_pii_detection_failure_fails_closed(catalog_domains, clinician, queued_ids):
    inquiry = submit(clinician)
    run = claimed_run(inquiry, route)
    run.summary["entities"] = [*run.summary["entities"], UNDETECTABLE]
    steps_run(run, STEPS[1:])
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.failure_reason) == ("failed", "pii_detection_failed")
    assert inquiry.redacted_question_ciphertext == inquiry.answer_ciphertext == ""
    assert events(inquiry) == [("inquiry.received", "success"), ("inquiry.failed", "failure")]


def test_output_screening_failure_withholds_the_answer(catalog_domains, clinician, queued_ids):
    inquiry = submit(clinician)
    run = claimed_run(
        inquiry, route, screen_input, decide, retrieve, select_evidence, generate, verify
    )
    # A sentence that passed verification, which screening must see before it is delivered.
    run.verification = Verification(
        [Checked("A covered entity must notify each affected individual within 60 days.", (1,))]
    )
    run.summary["entities"] = [*run.summary["entities"], UNDETECTABLE]
    steps_run(run, (screen_output,))
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.failure_reason, inquiry.answer_ciphertext) == (
        "failed",
        "output_screening_failed",
        "",
    )


def test_the_models_sentences_are_screened_and_the_quotes_delivered_as_the_sources_say_them(
    catalog_domains, clinician, queued_ids
):
    inquiry = submit(clinician)
    run = claimed_run(
        inquiry, route, screen_input, decide, retrieve, select_evidence, generate, verify
    )
    run.verification = Verification(
        [Checked("Notify each affected individual within 60 days, as Jane Roe did.", (1,))]
    )
    steps_run(run, (screen_output,))
    inquiry.refresh_from_db()
    answer = inquiry_content(inquiry, viewer=clinician)["answer"]
    assert answer.startswith(
        "Notify each affected individual within 60 days, as <PERSON_REDACTED> did [1]."
    )
    assert inquiry.answer_entities == {"PERSON": 1}
    assert f'"{run.evidence.units[0].text}"' in answer


class FlakyBackend:
    model_id = "flaky"
    model_version = "test"

    def __init__(self, permanent: bool) -> None:
        self.permanent = permanent

    def count_tokens(self, messages):
        return 10

    def generate(self, messages, *, max_new_tokens, on_text=None):
        raise BackendError("backend busy", permanent=self.permanent)


def failing_generate(permanent: bool):
    """The generate step with a backend that fails, transiently or for good."""

    def generate(run: Run) -> None:
        FlakyBackend(permanent=permanent).generate(run.messages, max_new_tokens=1)

    return generate


def run_with_steps(inquiry: Inquiry, steps) -> None:
    """What ``inquiry_run`` does, with these steps."""
    claimed = claims.inquiry_claim(inquiry_id=inquiry.id)
    if claimed is not None:
        steps_run(Run(claimed), steps)


def test_transient_model_failure_is_retried_then_fails_after_the_last_attempt(
    catalog_domains, clinician, queued_ids, settings
):
    steps = (*STEPS[:5], failing_generate(permanent=False))
    settings.INQUIRY_MAX_ATTEMPTS = 2
    inquiry = submit(clinician)
    with pytest.raises(RetryLater):
        run_with_steps(inquiry, steps)
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.attempts) == ("queued", 1)

    run_with_steps(inquiry, steps)
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.failure_reason, inquiry.attempts) == (
        "failed",
        "model_unavailable",
        2,
    )
    assert [e for e, _ in events(inquiry)].count("inquiry.retry") == 1


def test_the_task_hands_a_retry_to_celery(db, monkeypatch):
    def busy(*, inquiry_id):
        raise RetryLater(f"inquiry {inquiry_id}: backend busy")

    monkeypatch.setattr(pipeline, "inquiry_run", busy)
    with pytest.raises(TransientError):
        tasks.inquiry_run(str(uuid.uuid4()))


def test_permanent_model_failure_fails_at_once(catalog_domains, clinician, queued_ids):
    inquiry = submit(clinician)
    run_with_steps(inquiry, (*STEPS[:5], failing_generate(permanent=True)))
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.failure_reason, inquiry.attempts) == (
        "failed",
        "model_unavailable",
        1,
    )


def test_an_inquiry_held_by_a_dead_worker_is_reclaimed_after_its_lease(
    catalog_domains, clinician, queued_ids
):
    inquiry = submit(clinician)
    claimed = claims.inquiry_claim(inquiry_id=inquiry.id)
    assert claimed is not None and claimed.attempts == 1
    assert claims.inquiry_claim(inquiry_id=inquiry.id) is None  # held by the first worker

    Inquiry.objects.filter(pk=inquiry.id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert inquiries.inquiries_requeue_stale() == 1
    assert queued_ids[-1] == inquiry.id
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.attempts) == ("answered", 2)


def test_a_worker_that_lost_its_claim_writes_nothing(catalog_domains, clinician, queued_ids):
    inquiry = submit(clinician)
    stale = claims.inquiry_claim(inquiry_id=inquiry.id)
    Inquiry.objects.filter(pk=inquiry.id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    inquiry_run(inquiry_id=inquiry.id)  # a second worker takes over and finishes
    with pytest.raises(claims.ClaimLost):
        claims.step_commit(stale, AuditEvent.Type.INQUIRY_SCREENED, {}, question_entities={"X": 1})
    inquiry.refresh_from_db()
    assert inquiry.status == "answered" and inquiry.question_entities != {"X": 1}


def test_exhausted_attempts_fail_the_inquiry(catalog_domains, clinician, queued_ids, settings):
    inquiry = submit(clinician)
    Inquiry.objects.filter(pk=inquiry.id).update(attempts=settings.INQUIRY_MAX_ATTEMPTS)
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.failure_reason) == ("failed", "attempts_exhausted")


def answered_without_a_model(clinician, question: str, grounding: str) -> tuple[Inquiry, str]:
    """The inquiry for ``question``, run through the pipeline, and its answer: delivered with
    ``grounding``, no citations and no model called."""
    inquiry = submit(clinician, question=question)
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.grounding, inquiry.citations) == ("answered", grounding, [])
    assert "inquiry.generated" not in [e for e, _ in events(inquiry)]
    return inquiry, inquiry_content(inquiry, viewer=clinician)["answer"]


def test_question_outside_the_corpus_gets_no_generated_answer(
    catalog_domains, clinician, queued_ids
):
    _, answer = answered_without_a_model(
        clinician, "What is the best recipe for sourdough bread with rye flour?", "no_passages"
    )
    # Nothing in the sources comes near it: the reply says it is not about these rules.
    assert answer.startswith(
        "This does not look like a question about the rules in the Healthcare privacy and "
        "compliance sources"
    )


@pytest.mark.parametrize("question", ["x?", "hello", "12345", "Tell me a joke"])
def test_junk_is_told_it_is_not_a_question_about_these_rules(
    catalog_domains, clinician, queued_ids, question
):
    inquiry = submit(clinician, question=question)
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    assert inquiry.status == "answered" and inquiry.grounding in ("no_passages", "abstained")
    answer = inquiry_content(inquiry, viewer=clinician)["answer"]
    assert answer.startswith("This does not look like a question about the rules"), answer


def test_a_question_the_sources_do_not_answer_is_abstained_on_without_calling_the_model(
    catalog_domains, clinician, queued_ids
):
    # The starter corpus describes HIPAA's penalty tiers but gives no amounts.
    inquiry = submit(clinician, question="What is the maximum dollar fine per HIPAA violation?")
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.grounding, inquiry.citations) == ("answered", "abstained", [])
    answer = inquiry_content(inquiry, viewer=clinician)["answer"]
    assert answer.startswith(
        "The sources for this domain and jurisdiction do not answer this question. Searched: "
        "the Healthcare privacy and compliance sources that apply in US."
    )
    assert [e for e, _ in events(inquiry)][-3:] == [
        "inquiry.retrieved",
        "inquiry.evidence_selected",
        "inquiry.answered",
    ]
    selected = AuditEvent.objects.get(inquiry_id=inquiry.id, event_type="inquiry.evidence_selected")
    assert (selected.details["abstained"], selected.details["evidence"]) == (True, [])


def test_a_question_about_a_law_the_sources_never_mention_is_abstained_on_naming_it(
    catalog_domains, clinician, queued_ids
):
    # Retrieval finds HIPAA's breach notice; quoting it would answer for another law.
    inquiry, answer = answered_without_a_model(
        clinician,
        "Under CIRCIA, how many hours does a hospital have to report a breach?",
        "abstained",
    )
    assert answer.startswith(
        "The sources for this domain do not mention CIRCIA, so they do not answer this question. "
        "Searched: the Healthcare privacy and compliance sources that apply in US."
    )
    selected = AuditEvent.objects.get(inquiry_id=inquiry.id, event_type="inquiry.evidence_selected")
    assert (selected.details["unanswered"], selected.details["missing_names"]) == (
        "not_in_sources",
        1,
    )
    assert "CIRCIA" not in json.dumps(selected.details)


def test_a_question_about_what_is_the_case_now_is_abstained_on_saying_why(
    catalog_domains, clinician, queued_ids
):
    # Retrieval finds the breach notice rule in force; it says nothing of present practice.
    inquiry, answer = answered_without_a_model(
        clinician,
        "How many days do hospitals currently take to notify patients of a breach?",
        "abstained",
    )
    assert answer.startswith(
        "The sources for this domain state the rules in force; they do not say what is the "
        "case at present, so they do not answer this question. Searched: the Healthcare "
        "privacy and compliance sources that apply in US."
    )
    selected = AuditEvent.objects.get(inquiry_id=inquiry.id, event_type="inquiry.evidence_selected")
    assert (selected.details["unanswered"], selected.details["evidence"]) == ("beyond_rules", [])


def test_unknown_inquiry_id_is_ignored(db):
    inquiry_run(inquiry_id=uuid.uuid4())


def test_answer_streams_as_screened_drafts_and_a_follow_up_keeps_placeholders(
    catalog_domains, clinician, queued_ids
):
    first = submit(clinician)
    # Every token offered to the publisher: a grounded answer on llama.cpp is written in about
    # a tenth of a second, too quick for any interval to see it grow.
    run = Run(claims.inquiry_claim(inquiry_id=first.id), draft_interval=0.0)
    steps_run(run, STEPS)
    first.refresh_from_db()
    assert first.status == "answered", first.failure_reason
    drafts = run.drafts.stored
    # The answer arrived in several growing pieces, each short of the words still unjudged.
    assert len(drafts) >= 2, drafts
    assert all(len(a) < len(b) for a, b in zip(drafts, drafts[1:], strict=False))
    assert (first.draft_ciphertext, first.progress) == ("", "")
    for draft in drafts:
        for canary in CANARIES:
            assert canary not in draft

    follow_up = inquiries.inquiry_submit(
        user=clinician,
        conversation=first.conversation_id,
        question="What must a breach notice such as the one for John Smith contain?",
    )
    run = Run(claims.inquiry_claim(inquiry_id=follow_up.id))
    steps_run(run, STEPS)
    follow_up.refresh_from_db()
    assert follow_up.status == "answered", follow_up.failure_reason
    content = inquiry_content(follow_up, viewer=clinician)
    # The same person gets the same placeholder in both turns.
    assert "such as the one for <PERSON_1> contain" in content["redacted_question"]
    prompt = run.messages
    # The model sees the domain's worked examples and then only the evidence, the question and
    # the question before it (redacted); never an earlier answer.
    examples = catalog_domains["healthcare"].answer_examples
    assert [m["role"] for m in prompt] == ["system", *["user", "assistant"] * len(examples), "user"]
    assert (
        "Earlier question in this conversation: My patient <PERSON_1>, MRN "
        "<MEDICAL_RECORD_NUMBER_1>" in prompt[-1]["content"]
    )
    assert "Disclaimer (" not in prompt[-1]["content"]
    for message in prompt:
        for canary in CANARIES:
            assert canary not in message["content"]


def test_a_draft_screening_failure_fails_the_inquiry_closed(catalog_domains, clinician, queued_ids):
    inquiry = submit(clinician)
    run = claimed_run(inquiry, route, screen_input, decide, retrieve, select_evidence)
    run.draft_interval = 0
    run.summary["entities"] = [*run.summary["entities"], UNDETECTABLE]
    steps_run(run, (generate, verify, screen_output))
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.failure_reason, inquiry.answer_ciphertext) == (
        "failed",
        "output_screening_failed",
        "",
    )
    assert inquiry.draft_ciphertext == ""
    # The draft's screening stopped it: the answer's own screening never ran.
    failed = AuditEvent.objects.get(inquiry_id=inquiry.id, event_type="inquiry.failed")
    assert failed.details["step"] == "generate"
