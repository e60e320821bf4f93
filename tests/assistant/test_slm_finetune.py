"""Fine-tuning a domain's generative model: the examples it trains on, the profile it makes, how
domains, workers and the benchmark pick that profile up, and a real 10-step fine-tune whose
model llama.cpp loads and answers with."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assistant.backends.llama_cpp import chat_tokenizer
from assistant.benchmarking.profiles import generative_profiles
from assistant.benchmarking.questions import Question
from assistant.grounding.prompt import ABSTAIN_SENTENCE, ANSWER_RULES
from assistant.grounding.verify import verify
from assistant.inquiries.pipeline.run import inquiry_run
from assistant.models import Inquiry
from assistant.tuning.examples import _marked, _stated, build_examples, near_duplicates
from compliance.models import AuditEvent
from domains.catalog import catalog_definitions
from domains.models import GenerativeProfile
from domains.services import domains_sync, model_profiles_in_use

MODEL = "smollm2-135m-instruct"
BREACH_ANSWER = (
    "A HIPAA covered entity must notify each affected individual without unreasonable delay "
    "and in no case later than 60 calendar days after discovery of the breach."
)


def question(**fields) -> Question:
    return Question(
        **{"id": "q1", "domain": "healthcare", "jurisdiction": "US", "text": "?", **fields}
    )


def built(catalog_domains, questions):
    return build_examples(
        questions,
        catalog_domains,
        count_tokens=chat_tokenizer(MODEL).count,
        max_input_tokens=1536,
    )


def test_an_answer_is_marked_with_its_evidence_number_before_each_full_stop():
    assert _marked("Notice is due. It is free", 2) == "Notice is due [2]. It is free [2]."
    assert _marked("Is it due?", 1) == "Is it due [1]?"


def test_the_shortest_run_of_sentences_stating_every_fact_is_the_target():
    text = "A clinic must log disclosures. The log is kept for 6 years. Fees are waived."
    assert _stated([r"6 years"], text) == "The log is kept for 6 years."
    assert _stated([r"log disclosures", r"6 years"], text) == (
        "A clinic must log disclosures. The log is kept for 6 years."
    )
    assert _stated([r"log disclosures", r"waived"], text) == ""


def test_a_written_answer_becomes_the_pipelines_prompt_and_a_verified_target(catalog_domains):
    result = built(
        catalog_domains,
        [
            question(
                text="How long do we have to notify patients after a breach of their records?",
                cite=["45 CFR 164.404(b)"],
                answer=BREACH_ANSWER,
            )
        ],
    )
    (example,) = result.examples
    assert example.retrieved and example.answerable
    system, *_, asked = example.messages
    assert system["role"] == "system" and ANSWER_RULES in system["content"]
    # The domain's worked examples come before the question, as the answer step sends them.
    assert [m["role"] for m in example.messages[1:3]] == ["user", "assistant"]
    assert asked["content"].endswith(
        "Question: How long do we have to notify patients after a breach of their records?"
    )
    number = next(
        line.split("]")[0].lstrip("[")
        for line in asked["content"].splitlines()
        if "45 CFR 164.404(b):" in line
    )
    assert example.target == BREACH_ANSWER.removesuffix(".") + f" [{number}]."
    assert len(result.sha256) == 64


def test_a_cited_passage_retrieval_misses_is_put_among_the_retrieved_ones(catalog_domains):
    answer = (
        "Policies, procedures, communications and actions that the Privacy Rule requires to "
        "be documented must be retained for six years."
    )
    (example,) = built(
        catalog_domains,
        [
            question(
                text="How long do we have to notify patients after a breach?",
                cite=["45 CFR 164.530(j)"],
                answer=answer,
            )
        ],
    ).examples
    assert not example.retrieved
    evidence = example.messages[-1]["content"]
    assert "45 CFR 164.530(j):" in evidence and "45 CFR 164.404(b):" in evidence
    assert example.target.startswith("Policies, procedures") and "]" in example.target


def test_unanswerable_questions_learn_the_abstention_and_unverifiable_answers_are_left_out(
    catalog_domains,
):
    result = built(
        catalog_domains,
        [
            question(
                id="near",
                text="How much money per violation can HHS fine us in the highest tier?",
                answerable=False,
            ),
            question(
                id="invented",
                text="How long do we have to notify patients after a breach?",
                cite=["45 CFR 164.404(b)"],
                answer="A covered entity must notify patients within 10 business days.",
            ),
            question(
                id="facts", text="When is a breach discovered?", cite=["45 CFR 999"], facts=["x"]
            ),
        ],
    )
    (example,) = result.examples
    assert example.id == "near" and example.target == ABSTAIN_SENTENCE
    assert verify(example.target, []).model_abstained
    assert result.skipped == {
        "the answer does not survive verification (number)": 1,
        "no passage of the domain has the cited label": 1,
    }


def test_abstentions_are_capped_to_a_share_of_the_examples_in_order():
    from assistant.tuning.examples import TrainingExample, abstentions_capped

    examples = [
        TrainingExample(f"e{n}", "legal", [], "x", answerable=n % 2 == 0) for n in range(20)
    ]
    capped = abstentions_capped(examples, 0.2)
    assert sum(not e.answerable for e in capped) == 2  # 10 answers: 2 of 12 is under 20 %
    assert [e for e in capped if e.answerable] == [e for e in examples if e.answerable]
    assert [e.id for e in capped] == sorted((e.id for e in capped), key=lambda i: int(i[1:]))
    assert abstentions_capped(examples, 1) == examples


def test_a_training_question_that_restates_a_benchmark_question_is_left_out(memoized_embeddings):
    mine = [
        question(id="same", text="How many days do we have to notify patients of a breach?"),
        question(id="other", text="Who may sign an authorization for a minor?"),
    ]
    theirs = [question(id="b1", text="How many days do we have to notify patients of a breach")]
    assert near_duplicates(mine, theirs, model="all-MiniLM-L6-v2") == {"same"}


def tuned_profile(domain, version=1, base=MODEL, *, active=True) -> GenerativeProfile:
    return GenerativeProfile.objects.create(
        domain=domain,
        version=version,
        model=f"/models/slm/{domain.slug}-v{version}",
        base_model=base,
        active=active,
        details={"base_model": base},
    )


def test_a_tuned_version_replaces_its_base_model_in_local_profiles_only(catalog_domains):
    domain = catalog_domains["healthcare"]
    tuned_profile(domain)
    profiles = [
        {"backend": "llama_cpp", "model": MODEL},
        {"backend": "transformers", "model": MODEL},
        {"backend": "openai", "model": MODEL, "base_url": "http://x", "region": "EU"},
        {"backend": "llama_cpp", "model": "/other.gguf"},
    ]
    in_use = model_profiles_in_use(domain, profiles)
    assert in_use[0] == {
        "backend": "llama_cpp",
        "model": "/models/slm/healthcare-v1/model.gguf",
        "base_model": MODEL,
    }
    assert in_use[1]["model"] == "/models/slm/healthcare-v1/hf"
    assert in_use[2:] == profiles[2:]
    # Applied again (a later version, a sync), it starts from the models the definition names.
    assert model_profiles_in_use(domain, in_use) == in_use
    domain.generative_profiles.update(active=False)
    assert model_profiles_in_use(domain, in_use) == profiles


def test_a_domain_sync_keeps_the_tuned_version_while_the_definition_names_its_base(
    catalog_domains,
):
    tuned_profile(catalog_domains["healthcare"])
    synced = {d.slug: d for d, _ in domains_sync(definitions=catalog_definitions(), actor=None)}
    assert synced["healthcare"].model_backends[0]["model"].endswith("healthcare-v1/model.gguf")
    assert synced["legal"].model_backends[0]["model"] == MODEL
    # The definition now names another model: the version tuned from the old one is not used.
    GenerativeProfile.objects.update(base_model="another-model")
    synced = {d.slug: d for d, _ in domains_sync(definitions=catalog_definitions(), actor=None)}
    assert synced["healthcare"].model_backends[0]["model"] == MODEL


def test_the_benchmark_compares_the_base_the_tuned_and_a_given_version(catalog_domains):
    domain = catalog_domains["healthcare"]
    with pytest.raises(CommandError, match="no fine-tuned generative model"):
        generative_profiles(domain, "tuned")
    tuned_profile(domain, 1, active=False)
    tuned_profile(domain, 2)
    domain.model_backends = model_profiles_in_use(domain, domain.model_backends)
    assert generative_profiles(domain, "base")[0]["model"] == MODEL
    assert generative_profiles(domain, "tuned")[0]["model"].endswith("healthcare-v2/model.gguf")
    assert generative_profiles(domain, "v1")[0]["model"].endswith("healthcare-v1/model.gguf")
    with pytest.raises(CommandError, match="no generative profile v7"):
        generative_profiles(domain, "v7")
    with pytest.raises(CommandError, match="--compare-profiles: two or more"):
        call_command("answer_benchmark", "--questions", "x.jsonl", "--compare-profiles", "base")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--domain", "nope"], "unknown domain 'nope'"),
        (["--domain", "legal", "--lr", "0"], "--lr must be between 0 and 1"),
        (["--domain", "legal", "--max-seq-length", "8"], "--max-seq-length must be at least 64"),
    ],
)
def test_bad_options_are_named(catalog_domains, tmp_path, arguments, message):
    examples = tmp_path / "e.jsonl"
    examples.write_text(json.dumps({"id": "a"}) + "\n")
    with pytest.raises(CommandError, match=message):
        call_command("slm_finetune", *arguments, "--examples", str(examples))


def test_a_bad_example_line_is_named_by_file_and_line(catalog_domains, tmp_path):
    examples = tmp_path / "e.jsonl"
    line = {"id": "a", "domain": "legal", "jurisdiction": "US", "question": "Why?"}
    examples.write_text(json.dumps({**line, "cite": "X", "answer": "A."}) + "\n{oops\n")
    with pytest.raises(CommandError, match=r"e\.jsonl:2: invalid JSON"):
        call_command("slm_finetune", "--domain", "legal", "--examples", str(examples))
    examples.write_text(json.dumps({**line, "answerable": False, "answer": "A."}) + "\n")
    with pytest.raises(CommandError, match=r"e\.jsonl:1: 'answer' must be a string, on an"):
        call_command("slm_finetune", "--domain", "legal", "--examples", str(examples))


@pytest.mark.slow
def test_the_packaged_weights_written_back_to_gguf_are_the_packaged_tensors(settings):
    import gguf
    from safetensors.numpy import load_file

    from assistant.backends.gguf_export import gguf_weights
    from assistant.backends.packaged import gguf_file
    from assistant.backends.transformers_local import resolve

    directory, _ = resolve(MODEL)
    tensors, missing = gguf_weights(load_file(directory / "model.safetensors"), gguf_file(MODEL))
    assert missing == []
    for tensor in gguf.GGUFReader(gguf_file(MODEL)).tensors:
        packaged = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        assert np.array_equal(packaged.reshape(tensors[tensor.name].shape), tensors[tensor.name])


def training_lines(count_answerable: int, count_unanswerable: int) -> str:
    lines = Path("training/slm/healthcare.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    chosen = [r for r in rows if r.get("answerable", True)][:count_answerable]
    chosen += [r for r in rows if not r.get("answerable", True)][:count_unanswerable]
    return "".join(json.dumps(r) + "\n" for r in chosen)


@pytest.mark.slow
def test_a_ten_step_fine_tune_makes_a_profile_that_workers_load_and_answer_with(
    catalog_domains, clinician, queued_ids, tmp_path, settings
):
    from assistant.backends.transformers_local import prepared_dir

    packaged = prepared_dir(MODEL)
    settings.MODEL_CACHE_DIR = tmp_path / "models"
    settings.MODEL_CACHE_DIR.mkdir()
    (settings.MODEL_CACHE_DIR / MODEL).symlink_to(packaged)
    examples = tmp_path / "examples.jsonl"
    examples.write_text(training_lines(4, 2))
    out = io.StringIO()
    call_command(
        "slm_finetune",
        "--domain",
        "healthcare",
        "--examples",
        str(examples),
        "--max-steps",
        "10",
        "--batch-size",
        "1",
        "--abstention-share",
        "0.5",
        stdout=out,
        verbosity=0,
    )
    output = settings.MODEL_CACHE_DIR / "slm" / "healthcare-v1"
    assert "generative profile v1" in out.getvalue()
    profile = GenerativeProfile.objects.get(domain__slug="healthcare")
    assert (profile.version, profile.active, profile.base_model) == (1, True, MODEL)
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest == profile.details
    assert manifest["steps"] == 10 and manifest["examples"] == 6
    assert len(manifest["data_sha256"]) == 64 and manifest["training_seconds"] > 0
    assert manifest["hyperparameters"]["rank"] == 16
    assert (output / "model.gguf").is_file() and (output / "hf" / "config.json").is_file()
    assert (output / "adapter" / "adapter_config.json").is_file()
    event = AuditEvent.objects.filter(event_type="domain.changed", domain="healthcare").last()
    assert event.details["change"] == "generative_profile" and event.details["version"] == 1

    # A worker routes the next question to the tuned model, which llama.cpp serves.
    from tests.assistant.test_pipeline import submit

    inquiry = submit(clinician)
    inquiry_run(inquiry_id=inquiry.id)
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ANSWERED, inquiry.failure_reason
    assert inquiry.model_id == str(output / "model.gguf")
    assert inquiry.model_version == f"sha256:{manifest['weights_sha256'][:16]}"
    assert "60 calendar days" in inquiry.citations[0]["quote"] or any(
        "60 calendar days" in c["quote"] for c in inquiry.citations
    )
    generated = AuditEvent.objects.get(inquiry_id=inquiry.id, event_type="inquiry.generated")
    assert generated.details["completion_tokens"] > 0

    # The benchmark runs the stock and the tuned model on the same questions in one run.
    from tests.assistant.test_answer_benchmark import BREACH, NOT_COVERED, write

    printed, output = io.StringIO(), tmp_path / "compared.jsonl"
    call_command(
        "answer_benchmark",
        questions=write(tmp_path, BREACH, NOT_COVERED),
        compare_profiles="base,tuned",
        output=output,
        stdout=printed,
    )
    versions = {
        r["mode"]: r["model_version"]
        for r in map(json.loads, output.read_text().splitlines())
        if r["id"] == "hc-t1"
    }
    assert versions["grounded:tuned"] == inquiry.model_version != versions["grounded:base"]
    drafts = printed.getvalue().split("\ndrafts ")[1].splitlines()
    assert drafts[1].split()[0] == "grounded:base" and drafts[2].split()[0] == "grounded:tuned"


def test_questions_judged_by_passage_learn_the_gold_unit_beside_bm25_distractors(
    catalog_domains, tmp_path
):
    from assistant.tuning.judged_passages import JudgedPassagesError, judged_examples

    texts = {
        "1:1.1": "An Authorised Person must keep records of each transaction for at least six years.",
        "1:1.2": "An Authorised Person must keep records of its board meetings in a secure place.",
        "1:1.3": "Records of complaints received from clients must be kept by the Authorised Person.",
        "1:2": "Heading only",
    }
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps(
                {"id": key, "text": text, "metadata": {"relevance_key": key, "passage_id": key[2:]}}
            )
            + "\n"
            for key, text in texts.items()
        )
    )
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {"id": "a", "text": "How long must transaction records be kept?", "relevant": ["1:1.1"]}
        )
        + "\n"
        + json.dumps({"id": "b", "text": "What is a heading?", "relevant": ["1:2"]})
        + "\n"
    )
    examples, skipped = judged_examples(
        questions,
        corpus,
        catalog_domains["finance"],
        limit=10,
        count_tokens=chat_tokenizer(MODEL).count,
        max_input_tokens=1536,
    )
    (example,) = examples
    evidence = example.messages[-1]["content"]
    assert evidence.count("ADGM 1.") == 3 and "records of each transaction" in evidence
    number = next(
        line.split("]")[0].lstrip("[") for line in evidence.splitlines() if "ADGM 1.1:" in line
    )
    assert example.target == (
        "An Authorised Person must keep records of each transaction for at least six years "
        f"[{number}]."
    )
    assert skipped == {"the judged passage is not in the corpus (or is a heading)": 1}
    questions.write_text("{broken\n")
    with pytest.raises(JudgedPassagesError, match=r"q\.jsonl:1: invalid JSON"):
        judged_examples(
            questions,
            corpus,
            catalog_domains["finance"],
            limit=1,
            count_tokens=len,
            max_input_tokens=1536,
        )
