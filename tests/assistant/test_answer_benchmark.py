"""answer_benchmark: judged questions through the worker's pipeline in this process, scored by
checks of its own, with nothing kept afterwards."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from assistant.benchmarking import checks
from assistant.models import Inquiry
from compliance.models import AuditEvent
from compliance.policy import policies, policies_in_force

BREACH = {
    "id": "hc-t1",
    "domain": "healthcare",
    "jurisdiction": "US",
    "question": "How long does a covered entity have to notify patients after a breach of unsecured PHI?",
    "facts": ["60 (calendar )?days"],
    "cite": ["164.404(b)"],
}
NOT_COVERED = {
    "id": "hc-t2",
    "domain": "healthcare",
    "jurisdiction": "US",
    "question": "What is the maximum dollar fine per HIPAA violation?",
    "answerable": False,
}


def write(tmp_path, *rows, raw: str = ""):
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows) + raw)
    return path


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json\n", "questions.jsonl:2: invalid JSON"),
        (
            '{"id": "x", "domain": "healthcare", "jurisdiction": "US", "question": "Q?"}\n',
            "questions.jsonl:2: an answerable question needs 'facts'",
        ),
        (
            '{"id": "x", "domain": "healthcare", "jurisdiction": "US", "question": "Q?", "facts": ["(unclosed"], "cite": ["a"]}\n',
            "questions.jsonl:2: fact '(unclosed' is not a regular expression",
        ),
        (json.dumps(BREACH) + "\n", "questions.jsonl:2: id 'hc-t1' appears twice"),
    ],
)
def test_a_bad_question_file_is_refused_naming_the_file_and_line(tmp_path, raw, message):
    path = write(tmp_path, BREACH, raw=raw)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("answer_benchmark", questions=path)


@pytest.mark.parametrize("modes", ["fancy", "grounded@magic", "free@"])
def test_an_unknown_mode_is_refused(tmp_path, modes):
    with pytest.raises(CommandError, match=f"--modes: {modes}"):
        call_command("answer_benchmark", questions=write(tmp_path, BREACH), modes=modes)


@pytest.mark.slow
@pytest.mark.django_db
def test_both_modes_are_measured_in_one_run_and_nothing_is_kept(catalog_domains, tmp_path):
    events_before = AuditEvent.objects.count()
    out, output = io.StringIO(), tmp_path / "answers.jsonl"
    call_command(
        "answer_benchmark",
        questions=write(tmp_path, BREACH, NOT_COVERED),
        modes="free@transformers,grounded",
        output=output,
        stdout=out,
    )
    printed = out.getvalue()
    assert "2 questions, 1 answerable, 1 that the corpus does not answer" in printed
    rows = [
        line.split()[0] for line in printed.splitlines() if re.match(r"[\w@]+ +\d\.\d{3} ", line)
    ]
    assert rows == ["free@transformers", "grounded"]
    assert "grounded / free@transformers median latency: x" in printed
    results = {(r["id"], r["mode"]): r for r in map(json.loads, output.read_text().splitlines())}
    modes = ("free@transformers", "grounded")
    assert set(results) == {(q, m) for q in ("hc-t1", "hc-t2") for m in modes}
    # The free mode ran on the backend it named, the grounded one on the domain's own.
    assert (
        results[("hc-t1", "free@transformers")]["model_version"]
        != (results[("hc-t1", "grounded")]["model_version"])
    )
    grounded = results[("hc-t1", "grounded")]
    assert grounded["correct"] and grounded["grounding"] in {"verified", "quoted"}
    assert grounded["unsupported"] == []
    assert results[("hc-t2", "grounded")]["abstained"]
    assert all(r["seconds"] > 0 for r in results.values())
    # Each question ran in a transaction that was rolled back.
    assert not Inquiry.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert not User.objects.filter(username="answer-benchmark").exists()


def test_the_benchmarks_own_check_finds_numbers_and_references_the_citation_lacks():
    cited = [
        {
            "number": 1,
            "citation": "45 CFR 164.404(b)",
            "text": "",
            "quote": "no later than 60 calendar days",
        }
    ]
    claims = checks.unsupported(
        "Notify within 60 days [1]. A hospital has 7 days [1]. See 45 CFR 164.410 [1].", cited
    )
    # 164.410 is missing both as a figure and as a rule reference.
    assert [c.missing for c in claims] == [["7"], ["164.410", "164.410"]]
    assert (
        checks.unsupported(
            "Under Article 33 notify [1].",
            [{"number": 1, "citation": "GDPR Art. 33(1)", "text": "x"}],
        )
        == []
    )


def test_a_domain_can_stand_in_for_another_under_its_policy_terms():
    stand_in = policies().with_stand_in("hipaa-gdpr", like="healthcare")
    us = stand_in.get("US")
    assert us.offers("hipaa-gdpr") and us.version == policies().get("US").version
    assert {r.category for r in us.refusals_for("hipaa-gdpr")} == {
        r.category for r in us.refusals_for("healthcare")
    }
    assert us.disclaimer_for("hipaa-gdpr") == us.disclaimer_for("healthcare")
    with policies_in_force(stand_in):
        assert policies().get("EU").offers("hipaa-gdpr")
    assert not policies().get("EU").offers("hipaa-gdpr")
