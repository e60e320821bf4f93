"""Training questions judged by citation: the passages with the cited label that state the
facts are the relevant ones."""

from __future__ import annotations

import json

import pytest

from domains.evaluation import QuestionsError
from domains.ingestion import parse_file
from domains.judging import read_training_questions
from domains.models import Domain, EmbeddingProfile
from domains.services import corpus_ingest, embedding_model_in_use
from tests.domains.test_retrieval import PASSAGES

pytestmark = pytest.mark.django_db


@pytest.fixture
def domain(tmp_path, memoized_embeddings):
    corpus = tmp_path / "corpus.jsonl"
    # Each passage's citation label is its id ("breach-eu", "kyc" ...).
    corpus.write_text(
        "".join(json.dumps({"id": pid, "text": text}) + "\n" for pid, text, _ in PASSAGES)
    )
    domain = Domain.objects.create(
        slug="regs", name="Regulations", jurisdictions=["US"], embedding_model="all-MiniLM-L6-v2"
    )
    corpus_ingest(domain=domain, drafts=parse_file(corpus, jurisdictions=["*"]), actor=None)
    return domain


def write(tmp_path, rows, name="questions.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_the_cited_passage_that_states_the_facts_is_relevant(domain, tmp_path):
    path = write(
        tmp_path,
        [
            # Both breach passages carry "breach" in their label; only one states 72 hours.
            {
                "id": "q1",
                "question": "How fast to the regulator?",
                "facts": ["72 hours"],
                "cite": ["breach"],
            },
            # No passage with the label states the fact: the labelled ones stand in.
            {"id": "q2", "question": "Who is identified?", "facts": ["nobody"], "cite": ["kyc"]},
            {"id": "q3", "question": "Fines in Texas?", "answerable": False},
        ],
    )
    questions = read_training_questions(domain, path)
    assert [(q.id, set(q.relevant)) for q in questions] == [
        ("q1", {"breach-eu"}),
        ("q2", {"kyc"}),
    ]


def test_a_question_whose_citation_names_no_passage_has_none(domain, tmp_path):
    path = write(tmp_path, [{"id": "q", "question": "Art. 99?", "facts": [], "cite": ["Art. 99"]}])
    assert read_training_questions(domain, path)[0].relevant == frozenset()


def test_questions_judged_by_passage_are_read_as_before(domain, tmp_path):
    path = write(tmp_path, [{"id": "a", "text": "Exit facility?", "relevant": ["exit-1"]}])
    assert read_training_questions(domain, path)[0].relevant == frozenset({"exit-1"})


@pytest.mark.parametrize(
    "row, message",
    [
        ({"id": "q", "question": "x?", "cite": "breach", "facts": []}, "lists of strings"),
        ({"id": "q", "question": "x?", "cite": ["breach"], "facts": ["(unclosed"]}, "valid regex"),
        ({"question": "x?", "cite": ["breach"], "facts": []}, "'id'"),
    ],
)
def test_a_bad_line_is_named_by_file_and_line(domain, tmp_path, row, message):
    ok = {"id": "ok", "question": "How fast?", "facts": [], "cite": ["breach"]}
    path = write(tmp_path, [ok, row])
    with pytest.raises(QuestionsError, match=rf"questions\.jsonl:2: .*{message}"):
        read_training_questions(domain, path)


def test_a_tuned_model_stays_in_use_while_the_definition_names_its_base(domain):
    EmbeddingProfile.objects.create(
        domain=domain, version=1, model="/models/regs-v1", base_model="all-MiniLM-L6-v2"
    )
    assert embedding_model_in_use(domain, "all-MiniLM-L6-v2") == "/models/regs-v1"
    assert embedding_model_in_use(domain, "another-model") == "another-model"
    EmbeddingProfile.objects.update(active=False)
    assert embedding_model_in_use(domain, "all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
