"""Hybrid retrieval, the retrieve command's contract, the benchmark and fine-tuning."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from compliance.models import AuditEvent
from domains import evaluation, finetune, lexical, retrieval, tokens
from domains.catalog import RETRIEVAL_DEFAULTS
from domains.embeddings import encode
from domains.evaluation import JudgedQuestion
from domains.ingestion import PassageDraft, parse_file, passage_text
from domains.models import Domain, EmbeddingProfile, Passage
from domains.services import corpus_ingest, corpus_reembed

pytestmark = pytest.mark.django_db

PASSAGES = [
    (
        "exit-1",
        "A PFP Operator offering an exit facility must disclose historical financing proposals.",
        ["AE-ADGM"],
    ),
    (
        "ispv-1",
        "An Insurer may transfer risk to an ISPV only with the Regulator's approval.",
        ["AE-ADGM"],
    ),
    (
        "breach-eu",
        "A controller notifies the supervisory authority of a personal data breach within 72 hours.",
        ["EU"],
    ),
    (
        "breach-us",
        "A covered entity notifies affected individuals of a breach within 60 calendar days.",
        ["US"],
    ),
    ("records", "Firms keep records of transactions for at least six years.", ["*"]),
    (
        "kyc",
        "Customer due diligence identifies the beneficial owner of a corporate customer.",
        ["*"],
    ),
]


PASSAGE_TEXT = {pid: text for pid, text, _ in PASSAGES}


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": pid, "text": text, "metadata": {"jurisdictions": codes}}) + "\n"
            for pid, text, codes in PASSAGES
        )
    )
    return path


@pytest.fixture
def domain(corpus_file, memoized_embeddings):
    domain = Domain.objects.create(
        slug="regs",
        name="Regulations",
        jurisdictions=["US", "EU", "AE-ADGM"],
        embedding_model="all-MiniLM-L6-v2",
        retrieval={"top_k": 3, "min_score": 0.0},
    )
    corpus_ingest(domain=domain, drafts=parse_file(corpus_file, jurisdictions=["*"]), actor=None)
    domain.refresh_from_db()
    return domain


def source_ids(domain, hits):
    ids = dict(Passage.objects.filter(domain=domain).values_list("id", "source_id"))
    return [ids[hit.passage_id] for hit in hits]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_each_mode_finds_the_passage_that_answers(domain, mode):
    hits = retrieval.search(
        domain, "What must an exit facility operator disclose?", jurisdiction=None, k=3, mode=mode
    )
    assert source_ids(domain, hits)[0] == "exit-1"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_jurisdiction_filtering_applies_to_every_retriever(domain, mode):
    question = "How quickly must a data breach be notified?"
    us = source_ids(domain, retrieval.search(domain, question, jurisdiction="US", k=6, mode=mode))
    eu = source_ids(domain, retrieval.search(domain, question, jurisdiction="EU", k=6, mode=mode))
    assert "breach-us" in us and "breach-eu" not in us
    assert "breach-eu" in eu and "breach-us" not in eu
    assert not {"exit-1", "ispv-1"} & set(us)


def test_rare_terms_are_found_by_the_lexical_side_of_hybrid(domain):
    hits = retrieval.search(domain, "ISPV", jurisdiction="AE-ADGM", k=2, mode="hybrid")
    assert source_ids(domain, hits)[0] == "ispv-1"
    assert hits[0].similarity > 0  # the dense similarity is filled in for the threshold


SCORE_FUSION = {**RETRIEVAL_DEFAULTS, "fusion": "score", "lexical_weight": 0.6, "dense_weight": 0.4}


def test_score_fusion_keeps_a_clear_lead_that_rank_fusion_would_lose():
    # BM25 is sure of passage 1 (20 against 2); the embeddings barely prefer passage 2.
    sparse = [(1, 20.0), (2, 2.0), (3, 1.0)]
    dense = [(2, 0.80), (1, 0.79), (3, 0.10)]
    fused = retrieval.fuse(dense, sparse, SCORE_FUSION)
    assert [pk for pk, _ in fused] == [1, 2, 3]
    assert fused[0][1] == pytest.approx(0.6 * 1 + 0.4 * (0.69 / 0.70))
    assert fused[1][1] == pytest.approx(0.6 * (1 / 19) + 0.4 * 1)
    assert fused[2][1] == 0.0  # last in both lists
    rank_fused = retrieval.fuse(dense, sparse, {**SCORE_FUSION, "fusion": "rrf"})
    # Ranks alone: 1 and 2 differ only by the weights, whatever the scores said.
    assert rank_fused[0][1] - rank_fused[1][1] < 0.001


def test_score_fusion_handles_one_sided_and_single_candidates():
    assert retrieval.fuse([], [(7, 3.0)], SCORE_FUSION) == [(7, 0.6)]
    fused = retrieval.fuse([(5, 0.5)], [(6, 1.0), (5, 0.2)], SCORE_FUSION)
    assert fused == [(6, pytest.approx(0.6)), (5, pytest.approx(0.4))]


def test_the_length_prior_demotes_headings_and_favours_substance():
    fused = [(1, 0.70), (2, 0.68), (3, 0.60)]
    words = {1: 2, 2: 40, 3: 12}  # 1 is a heading ("Customer Due Diligence")
    adjusted = retrieval.with_length_prior(fused, words, SCORE_FUSION)
    assert [pk for pk, _ in adjusted] == [2, 3, 1]
    assert adjusted[0][1] == pytest.approx(0.68 + 0.03 * math.log(41))
    off = {**SCORE_FUSION, "length_weight": 0, "fragment_penalty": 0}
    assert retrieval.with_length_prior(fused, words, off) == fused


def test_rank_fusion_is_not_swamped_by_the_length_prior(domain, monkeypatch):
    calls = []

    def recorded(fused, words, config):
        calls.append(config["fusion"])
        return fused

    monkeypatch.setattr(retrieval, "with_length_prior", recorded)
    for fusion in ("score", "rrf"):
        domain.retrieval = {**domain.retrieval, "fusion": fusion}
        assert retrieval.search(domain, "ISPV", jurisdiction=None, k=2, mode="hybrid")
    assert calls == ["score"]


def _unit(*rows):
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_late_interaction_favours_the_passage_that_matches_each_question_word():
    # Question word pieces between [CLS] and [SEP]: "x" and "y".
    question = _unit([0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1])
    passages = {
        1: _unit([1, 0, 0], [1, 0.1, 0]).astype(np.float16),  # matches "x" twice, not "y"
        2: _unit([1, 0, 0], [0, 1, 0]).astype(np.float16),  # matches both
        3: _unit([0.6, 0.8, 0]).astype(np.float16),  # halfway to both
    }
    fused = [(1, 0.70), (2, 0.69), (3, 0.50)]
    config = {**SCORE_FUSION, "late_weight": 0.5}
    adjusted = retrieval.with_late_interaction(fused, question, passages, config)
    assert [pk for pk, _ in adjusted] == [2, 1, 3]
    # MaxSim: 2 scores (1 + 1) / 2, the best; 1 scores about (1 + 0.1) / 2, the last.
    assert adjusted[0][1] == pytest.approx(0.69 + 0.5, abs=1e-3)
    assert dict(adjusted)[1] == pytest.approx(0.70, abs=1e-3)
    off = {**config, "late_weight": 0}
    assert [pk for pk, _ in retrieval.with_late_interaction(fused, question, passages, off)] == [
        1,
        2,
        3,
    ]
    # A candidate stored before token vectors existed: the fused order stands.
    del passages[3]
    assert retrieval.with_late_interaction(fused, question, passages, config) == fused


def test_passages_are_stored_with_their_token_vectors(domain):
    passage = Passage.objects.get(domain=domain, source_id="kyc")
    tokens = np.frombuffer(bytes(passage.token_vectors), dtype=np.float16).reshape(-1, 128)
    # [CLS], the word pieces of 11 words, the full stop and [SEP]
    assert len(tokens) >= 13
    assert np.allclose(np.linalg.norm(tokens.astype(np.float32), axis=1), 1, atol=1e-2)
    encoded = encode(
        [passage_text(passage.citation, passage.title, passage.text, "kyc")],
        model=domain.embedding_model,
    )
    # Embedded alone rather than in the ingestion batch (padded with the other passages), the
    # float sums differ in the last bits: about 4e-8 was seen on one machine.
    assert np.allclose(
        encoded.vectors[0], np.frombuffer(bytes(passage.embedding), np.float32), atol=1e-6
    )


def test_token_vectors_are_read_from_a_file_per_index_revision(domain):
    kyc = Passage.objects.get(domain=domain, source_id="kyc")
    stored = np.frombuffer(bytes(kyc.token_vectors), dtype=np.float16).reshape(-1, 128)
    tokens._loaded.clear()  # a fresh worker process, with the file written at ingestion
    assert (tokens.directory(domain) / "rows.f16").exists()
    found = tokens.vectors(domain, [kyc.pk, 10**9])
    assert list(found) == [kyc.pk] and np.array_equal(found[kyc.pk], stored)
    Passage.objects.filter(pk=kyc.pk).update(token_vectors=b"")
    domain.index_revision = "next"
    domain.save(update_fields=["index_revision"])
    others = list(
        Passage.objects.filter(domain=domain).exclude(pk=kyc.pk).values_list("id", flat=True)
    )
    assert set(tokens.vectors(domain, [kyc.pk, *others])) == set(others)
    assert [p.name for p in tokens.directory(domain).parent.glob("*.tokens")] == ["next.tokens"]


def test_reembedding_fills_in_missing_token_vectors(domain):
    Passage.objects.filter(domain=domain, source_id="kyc").update(token_vectors=b"")
    revision = domain.index_revision
    assert corpus_reembed(domain=domain) == 1
    assert Passage.objects.get(domain=domain, source_id="kyc").token_vectors
    assert corpus_reembed(domain=domain) == 0
    assert domain.index_revision != revision


def test_late_interaction_joins_score_fusion_only(domain, monkeypatch):
    calls = []

    def recorded(fused, query_tokens, passages, config):
        calls.append((config["fusion"], len(passages) == len(fused)))
        return fused

    monkeypatch.setattr(retrieval, "with_late_interaction", recorded)
    for fusion, weight in (("score", 0.5), ("rrf", 0.5), ("score", 0.0)):
        domain.retrieval = {**domain.retrieval, "fusion": fusion, "late_weight": weight}
        assert retrieval.search(domain, "ISPV", jurisdiction=None, k=2, mode="hybrid")
    assert calls == [("score", True)]


def test_word_counts_come_from_the_lexical_index(domain):
    ids = dict(Passage.objects.filter(domain=domain).values_list("source_id", "id"))
    counts = lexical.word_counts(domain, [ids["records"], ids["kyc"]])
    assert counts == {ids["records"]: 10, ids["kyc"]: 11}


def test_lexical_terms_include_adjacent_word_pairs():
    [tokens] = lexical.tokenize(["The exit facility of a PFP Operator"])
    assert "exit_facil" in tokens and "pfp_oper" in tokens
    assert "exit_facil" not in lexical.tokenize(["exit facility"], plain=True)[0]


def test_rule_numbers_are_terms_of_their_own():
    [tokens] = lexical.tokenize(["Under Rule 8.1.2(1) and Rule A10.4.2, see 45 CFR 164.404."])
    assert {"§8.1.2", "§8.1", "§a10.4.2", "§a10.4", "§164.404"} <= set(tokens)
    assert "§164" not in tokens and "§8.1.2(1)" not in tokens
    assert not any(t.startswith("§") for t in lexical.tokenize(["Rule 8.1.2"], plain=True)[0])


def test_a_question_citing_a_rule_finds_the_passage_that_cites_it(domain, tmp_path):
    extra = tmp_path / "rules.jsonl"
    rules = {
        "cites-8.1.2": "For the purposes of Rule 8.1.2(1), a Relevant Person must review risk.",
        "cites-8.3.1": "For the purposes of Rule 8.3.1, a Relevant Person must review risk.",
        "cites-7.8.2": "For the purposes of Rule 7.8.2, a Relevant Person must review risk.",
    }
    extra.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in rules.items()))
    corpus_ingest(domain=domain, drafts=parse_file(extra, jurisdictions=["*"]), actor=None)
    domain.refresh_from_db()
    # Without rule numbers as terms, only "rule" would match, and all three passages have it.
    for question, expected in (("Rule 8.1.2", "cites-8.1.2"), ("Rule 7.8.2(b)", "cites-7.8.2")):
        hits = retrieval.search(domain, question, jurisdiction=None, k=1, mode="lexical")
        assert source_ids(domain, hits) == [expected]


def test_a_loaded_index_notices_a_new_revision(domain, tmp_path):
    assert (
        retrieval.search(domain, "whistleblowing hotline", jurisdiction=None, k=1, mode="lexical")
        == []
    )
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps(
            {"id": "hotline", "text": "Staff may report concerns to the whistleblowing hotline."}
        )
        + "\n"
    )
    corpus_ingest(domain=domain, drafts=parse_file(extra, jurisdictions=["*"]), actor=None)
    domain.refresh_from_db()
    for mode in ("lexical", "dense", "hybrid"):
        hits = retrieval.search(domain, "whistleblowing hotline", jurisdiction=None, k=1, mode=mode)
        assert source_ids(domain, hits) == ["hotline"]
    assert lexical.load(domain).revision == domain.index_revision


def test_the_lexical_index_is_persisted_and_reloaded(domain):
    directory = lexical.index_dir(domain)
    assert (directory / "passage_ids.npy").exists()
    lexical._loaded.clear()  # a fresh worker process
    hits = lexical.search(domain, "beneficial owner", jurisdiction=None, k=1)
    assert hits and Passage.objects.get(pk=hits[0][0]).source_id == "kyc"


def test_retrieve_command_contract(domain, tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        json.dumps({"id": "q1", "text": "exit facility disclosures"})
        + "\n"
        + json.dumps({"id": 7, "text": "records retention period"})
        + "\n"
    )
    output = tmp_path / "results.jsonl"
    call_command(
        "retrieve",
        "--domain",
        "regs",
        "--queries",
        str(queries),
        "--k",
        "2",
        "--output",
        str(output),
        verbosity=0,
    )
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["q1", 7]
    assert rows[0]["results"][0]["id"] == "exit-1"
    assert rows[1]["results"][0]["id"] == "records"
    assert all(len(row["results"]) == 2 for row in rows)
    assert all(isinstance(r["score"], float) for row in rows for r in row["results"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "q1"}\n', "queries.jsonl:1: 'text' must be a non-empty string"),
        ('{"id": "q1", "text": "ok"}\n{oops\n', "queries.jsonl:2: invalid JSON"),
        ("", "queries.jsonl: contains no queries"),
    ],
)
def test_retrieve_command_names_bad_input(domain, tmp_path, content, message):
    queries = tmp_path / "queries.jsonl"
    queries.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command(
            "retrieve",
            "--domain",
            "regs",
            "--queries",
            str(queries),
            "--output",
            str(tmp_path / "o.jsonl"),
        )
    with pytest.raises(CommandError, match="unknown domain 'nope'"):
        call_command(
            "retrieve",
            "--domain",
            "nope",
            "--queries",
            str(queries),
            "--output",
            str(tmp_path / "o.jsonl"),
        )


def judged_questions(tmp_path):
    path = tmp_path / "questions.jsonl"
    rows = [
        {
            "id": "a",
            "text": "What must an exit facility operator disclose?",
            "relevant": ["exit-1"],
        },
        {"id": "b", "text": "Can an insurer transfer risk to an ISPV?", "relevant": ["ispv-1"]},
        {
            "id": "c",
            "text": "Who must be identified in customer due diligence?",
            "relevant": ["kyc"],
        },
        {
            "id": "d",
            "text": "How long are transaction records kept?",
            "relevant": ["records", "kyc"],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def benchmark(corpus_file, tmp_path, *arguments, **options):
    questions = judged_questions(tmp_path)
    call_command(
        "retrieval_benchmark",
        "--corpus",
        str(corpus_file),
        "--questions",
        str(questions),
        *arguments,
        **options,
    )


def test_the_benchmark_reports_the_baselines_beside_our_retrieval(
    corpus_file, tmp_path, memoized_embeddings
):
    out = io.StringIO()
    summary = tmp_path / "figures.json"
    benchmark(
        corpus_file,
        tmp_path,
        "--output",
        str(summary),
        "--lexical-weights",
        "0.5,0.7",
        "--late-weights",
        "0.3",
        "--ceilings",
        "6,1,10,150",
        stdout=out,
        verbosity=0,
    )
    text = out.getvalue()
    assert "4 questions, 6 passages, k=10" in text
    assert "hybrid, score fusion, BM25 weight 0.7" in text
    assert "hybrid, late-interaction weight 0.3" in text
    for label in (
        "BM25 (bm25s defaults, single words)",
        "dense (faiss, all-MiniLM-L6-v2)",
        "our BM25 (pairs, rule numbers, k1 0.9)",
        "hybrid, reciprocal rank fusion",
        "hybrid, as configured, no late interaction",
        "hybrid, as configured (score)",
        "hybrid / BM25: recall x",
    ):
        assert label in text
    figures = json.loads(summary.read_text())
    assert set(figures) == {
        "bm25",
        "dense",
        "lexical",
        "rrf",
        "no-prior",
        "no-late",
        "hybrid",
        "score-0.5",
        "score-0.7",
        "late-0.3",
    }
    # Six passages and k=10: dense retrieval ranks them all; BM25 only those sharing a word.
    assert figures["dense"]["recall"] == figures["hybrid"]["recall"] == 1.0
    assert figures["rrf"]["recall"] == 1.0
    # question d shares no word with "kyc"
    assert figures["bm25"]["recall"] == figures["lexical"]["recall"] == 0.875
    assert all(0 < row["map"] <= 1 and row["p95_ms"] > 0 for row in figures.values())
    assert not Domain.objects.get(slug="benchmark").is_active
    # All six passages hold every answer; the first alone cannot hold both of question d's.
    ceilings = figures["hybrid"]["ceilings"]
    assert list(ceilings) == ["1", "6", "10", "150"]
    assert ceilings["6"] == ceilings["150"] == 1.0
    assert ceilings["1"] <= 0.875
    # at depth k, the ceiling is the hybrid's own recall: the same ranking, already in its top k
    assert ceilings["10"] == figures["hybrid"]["recall"]
    assert "Recall@10 of a perfect reordering of the hybrid's top N: N=1 " in text


@pytest.mark.parametrize("option", ["--lexical-weights", "--late-weights", "--ceilings"])
@pytest.mark.parametrize("weights", ["0.5,high", "1.5"])
def test_the_benchmark_refuses_bad_weights(corpus_file, tmp_path, option, weights):
    with pytest.raises(CommandError, match=option.lstrip("-")):
        benchmark(corpus_file, tmp_path, option, weights)


def test_the_benchmark_refuses_a_depth_of_zero(corpus_file, tmp_path):
    with pytest.raises(CommandError, match="each depth must be from 1 to 1000"):
        benchmark(corpus_file, tmp_path, "--ceilings", "10,0")


def test_the_ceiling_counts_what_a_perfect_reordering_would_bring_into_the_top_k():
    relevant = frozenset({"a", "b", "c"})
    ranked = ["x", "y", "b", "z", "a"]
    assert evaluation.ceiling(ranked, relevant, k=10) == pytest.approx(2 / 3)
    # however good the reordering, only k passages are shown
    assert evaluation.ceiling(ranked, relevant, k=1) == pytest.approx(1 / 3)
    assert evaluation.ceiling(["x", "y"], relevant, k=10) == 0.0
    # as ranked, Recall@k is never above its ceiling
    assert evaluation.scores(ranked, relevant, k=3)["recall"] <= evaluation.ceiling(
        ranked[:3], relevant, k=3
    )


def test_hard_negatives_skip_copies_of_the_answer_and_headings(domain):
    kyc = PASSAGE_TEXT["kyc"]
    extra = [
        PassageDraft("kyc-copy", "kyc-copy", kyc, ["*"], "other-rulebook.jsonl"),
        PassageDraft("heading", "heading", "Customer Due Diligence", ["*"], "other-rulebook.jsonl"),
    ]
    corpus_ingest(domain=domain, drafts=extra, actor=None)
    domain.refresh_from_db()
    question = JudgedQuestion(
        "q",
        "Who identifies the beneficial owner of a customer, and keeps records?",
        frozenset({"kyc"}),
    )
    negatives = set()
    for seed in range(10):
        examples, unmatched = finetune.examples_for(
            domain, [question], hard_negatives=True, seed=seed
        )
        assert unmatched == 0 and [e.positive for e in examples] == [kyc]
        negatives.add(examples[0].negative)
    assert negatives == {PASSAGE_TEXT["records"]}


@pytest.mark.slow
def test_finetuning_makes_a_new_embedding_profile_and_reembeds(domain, tmp_path, settings):
    settings.MODEL_CACHE_DIR = tmp_path / "models"
    out = io.StringIO()
    call_command(
        "embeddings_finetune",
        "--domain",
        "regs",
        "--questions",
        str(judged_questions(tmp_path)),
        "--batch-size",
        "2",
        "--max-seq-length",
        "48",
        stdout=out,
        verbosity=0,
    )
    domain.refresh_from_db()
    profile = EmbeddingProfile.objects.get(domain=domain)
    assert profile.version == 1 and profile.active
    assert profile.base_model == "all-MiniLM-L6-v2"
    assert (
        domain.embedding_model
        == profile.model
        == str(tmp_path / "models" / "embeddings" / "regs-v1")
    )
    assert profile.details["examples"] == 5 and profile.details["hard_negatives"]
    assert set(Passage.objects.filter(domain=domain).values_list("embedding_model", flat=True)) == {
        profile.model
    }
    assert "re-embedded 6 passages" in out.getvalue()
    event = AuditEvent.objects.filter(event_type="domain.changed", domain="regs").last()
    assert event.details["change"] == "embedding_profile" and event.details["version"] == 1
    hits = retrieval.search(domain, "exit facility disclosures", jurisdiction=None, k=1)
    assert source_ids(domain, hits) == ["exit-1"]


def test_large_corpora_get_an_hnsw_index_that_still_filters_by_jurisdiction(monkeypatch, domain):
    import faiss

    from domains import index

    monkeypatch.setattr(index, "FLAT_LIMIT", 3)
    index._loaded.clear()
    for path in index.index_path(domain).parent.glob("*.faiss"):
        path.unlink()
    loaded = index.load(domain)
    assert isinstance(faiss.downcast_index(loaded.index.index), faiss.IndexHNSWFlat)
    hits = retrieval.search(
        domain, "personal data breach notification", jurisdiction="EU", k=3, mode="dense"
    )
    assert "breach-us" not in source_ids(domain, hits)
    assert source_ids(domain, hits)[0] == "breach-eu"


def test_obliqa_convert_writes_corpus_and_held_out_question_files(tmp_path):
    source = tmp_path / "obliqa"
    (source / "StructuredRegulatoryDocuments").mkdir(parents=True)
    (source / "StructuredRegulatoryDocuments" / "1.json").write_text(
        json.dumps(
            [
                {"ID": "u1", "DocumentID": 1, "PassageID": "1.1", "Passage": "Rule text one."},
                {"ID": "u2", "DocumentID": 1, "PassageID": "1.2", "Passage": ""},
                {"ID": "u3", "DocumentID": 1, "PassageID": "1.1", "Passage": "Rule text one."},
            ]
        )
    )
    question = {"DocumentID": 1, "PassageID": "1.1", "Passage": "Rule text one."}
    dev = [
        {"QuestionID": f"q{n}", "Question": f"Question {n}?", "Passages": [question]}
        for n in range(10)
    ]
    (source / "ObliQA_dev.json").write_text(json.dumps(dev))
    (source / "ObliQA_MultiPassage_val.json").write_text(
        json.dumps(dev[:2] + [{**dev[0], "QuestionID": "m", "Question": "New?"}])
    )
    out = tmp_path / "out"
    call_command("obliqa_convert", str(source), "--output", str(out), stdout=io.StringIO())
    corpus = [json.loads(line) for line in (out / "corpus.jsonl").read_text().splitlines()]
    assert [c["id"] for c in corpus] == ["u1", "u3"]  # empty placeholders dropped
    assert corpus[0]["metadata"]["relevance_key"] == "1:1.1"

    def read(name, folder=out):
        return [json.loads(line) for line in (folder / name).read_text().splitlines()]

    def ids(name, folder=out):
        return [q["id"] for q in read(name, folder)]

    train, tune, held = ids("dev-train.jsonl"), ids("dev-tune.jsonl"), ids("dev-heldout.jsonl")
    assert (len(train), len(tune), len(held)) == (4, 1, 5)
    assert len(set(train) | set(tune) | set(held)) == 10
    first = json.loads((out / "dev-train.jsonl").read_text().splitlines()[0])
    assert first["relevant"] == ["1:1.1"]
    # Without a tuning part the held-out part is the same questions.
    again = tmp_path / "again"
    call_command(
        "obliqa_convert",
        str(source),
        "--output",
        str(again),
        "--tune-fraction",
        "0",
        stdout=io.StringIO(),
    )
    assert ids("dev-heldout.jsonl") == ids("dev-heldout.jsonl", again)
    multi = [json.loads(line) for line in (out / "multipassage-val.jsonl").read_text().splitlines()]
    trained = {q["text"] for q in read("dev-train.jsonl") + read("dev-tune.jsonl")}
    assert not any(q["text"] in trained for q in multi)
    assert "New?" in {q["text"] for q in multi}


def test_a_lexical_domain_still_grounds_answers(domain):
    from domains.selectors import passages_retrieve

    domain.retrieval = {"top_k": 2, "min_score": 0.25, "mode": "lexical"}
    passages, nearest = passages_retrieve(
        domain=domain, jurisdiction="AE-ADGM", query="exit facility disclosures"
    )
    assert nearest == passages[0].score
    assert passages and passages[0].source_id == "exit-1"
    assert passages[0].score > 0.25  # the cosine similarity, not 0
