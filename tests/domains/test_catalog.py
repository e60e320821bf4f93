from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.jurisdictions import jurisdiction_names
from domains.catalog import CATALOG_DIR, DefinitionError, catalog_definitions, load_definition


def test_shipped_domains_are_valid_and_include_the_three_practice_areas():
    definitions = {d.slug: d for d in catalog_definitions()}
    assert {"healthcare", "legal", "finance"} <= set(definitions)
    for definition in definitions.values():
        assert definition.system_prompt
        assert definition.roles
        assert definition.models[0]["model"] == "smollm2-135m-instruct"
        # llama.cpp: 4x transformers' generation speed on this CPU (docs/models.md).
        assert definition.models[0]["backend"] == "llama_cpp"
        # Worked examples for the answer prompt, one of them an abstention.
        answers = [example["answer"] for example in definition.answer_examples]
        assert len(answers) >= 2
        assert "The evidence does not answer this question." in answers


@pytest.mark.parametrize("slug", ["healthcare", "legal", "finance"])
def test_starter_corpus_has_at_least_30_cited_summaries(slug):
    lines = (CATALOG_DIR / slug / "corpus.jsonl").read_text().splitlines()
    passages = [json.loads(line) for line in lines]
    assert len(passages) >= 30
    assert len({p["id"] for p in passages}) == len(passages)
    for passage in passages:
        metadata = passage["metadata"]
        assert metadata["citation"].strip()
        assert metadata["kind"] == "summary"
        assert "not the text of the law" in metadata["note"]
        assert metadata["title"].startswith("Summary: ")
        assert all(
            code == "*" or code in jurisdiction_names() for code in metadata["jurisdictions"]
        )
        assert len(passage["text"]) > 150


def _write_domain(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text('{"id": "a", "text": "x"}\n')
    path = folder / "domain.yaml"
    path.write_text(body)
    return path


VALID = """
slug: demo
name: Demo
jurisdictions: [US]
roles: [clinician]
system_prompt: You help.
models: [{backend: transformers, model: smollm2-135m-instruct}]
corpus: [corpus.jsonl]
"""


REMOTE = "backend: openai, base_url: 'https://models.example/v1', region: EU"


def test_an_openai_model_names_its_endpoint_and_where_its_key_is(tmp_path):
    body = VALID.replace("backend: transformers", f"{REMOTE}, api_key_env: MODEL_KEY")
    profile = load_definition(_write_domain(tmp_path, body)).models[0]
    assert profile == {
        "backend": "openai",
        "model": "smollm2-135m-instruct",
        "region": "EU",
        "max_new_tokens": 200,
        "max_input_tokens": 1536,
        "base_url": "https://models.example/v1",
        "api_key_env": "MODEL_KEY",
        "timeout": 60,
        "retries": 2,
    }


def test_a_valid_definition_loads_with_defaults(tmp_path):
    definition = load_definition(_write_domain(tmp_path, VALID))
    assert definition.retrieval == {
        "top_k": 4,
        "min_score": 0.25,
        "mode": "hybrid",
        "fusion": "score",
        "candidates": 100,
        "rrf_k": 60,
        "dense_weight": 0.5,
        "lexical_weight": 0.5,
        "length_weight": 0.03,
        "fragment_penalty": 0.2,
        "late_weight": 0.5,
    }
    assert definition.embedding_model == "all-MiniLM-L6-v2"


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        (
            VALID.replace("jurisdictions: [US]", "jurisdictions: [US, XX]"),
            "jurisdictions",
            "'XX' is not a jurisdiction with a policy",
        ),
        (VALID.replace("name: Demo\n", ""), "name", "is required"),
        (VALID + "retrieval: {top_k: 0}\n", "retrieval.top_k", "integer from 1 to 20"),
        (VALID + "retrieval: {mode: fuzzy}\n", "retrieval.mode", "hybrid, dense or lexical"),
        (VALID + "retrieval: {dense_weight: -1}\n", "retrieval.dense_weight", "from 0 to 10"),
        (VALID + "retrieval: {fusion: max}\n", "retrieval.fusion", "must be score or rrf"),
        (VALID + "retrieval: {length_weight: 2}\n", "retrieval.length_weight", "from 0 to 1"),
        (VALID + "retrieval: {late_weight: true}\n", "retrieval.late_weight", "from 0 to 10"),
        (
            VALID.replace("backend: transformers", "backend: magic"),
            "models[0].backend",
            "must be one of",
        ),
        (VALID + "colour: blue\n", "colour", "is not a known key"),
        (
            VALID.replace("backend: transformers", "backend: llama_cpp, base_url: 'http://x'"),
            "models[0].base_url",
            "is not a key of a llama_cpp model",
        ),
        (
            VALID.replace("backend: transformers", f"{REMOTE}, api_key: sk-123"),
            "models[0].api_key",
            "must not be written in the definition",
        ),
        (
            VALID.replace("backend: transformers", REMOTE.replace(", region: EU", "")),
            "models[0].region",
            "is required for an openai backend",
        ),
        (
            VALID.replace("backend: transformers", REMOTE.replace("https://", "ftp://")),
            "models[0].base_url",
            "must be an http(s) URL",
        ),
        (
            VALID.replace("backend: transformers", f"{REMOTE}, retries: 9"),
            "models[0].retries",
            "from 0 to 5",
        ),
        (VALID.replace("slug: demo", "slug: other"), "slug", "must match its folder"),
        (VALID.replace("[corpus.jsonl]", "[../../etc/passwd]"), "corpus", "is not a file in"),
        ("slug: [unclosed", "<document>", "is not valid YAML (line 1)"),
        (
            VALID + "answer_examples: [{question: 'Q?', answer: 'A [2].',"
            " evidence: [{citation: R 1, text: T}]}]\n",
            "answer_examples[0].answer",
            "cites evidence it does not have (1 given)",
        ),
        (
            VALID + "answer_examples: [{question: 'Q?', answer: 'A.'}]\n",
            "answer_examples[0]",
            "must have exactly evidence, question and answer",
        ),
    ],
)
def test_invalid_definition_names_the_file_and_the_key(tmp_path, body, key, problem):
    path = _write_domain(tmp_path, body)
    with pytest.raises(DefinitionError) as error:
        load_definition(path)
    message = str(error.value)
    assert message.startswith(f"{path}: key '{key}'")
    assert problem in message
