"""Domain definitions: ``domains/catalog/<slug>/domain.yaml``, validated on load.

Errors name the file and the key, and nothing is half-loaded: a definition either validates
completely or is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from compliance.config_files import ConfigFileError, parse_yaml
from compliance.jurisdictions import jurisdiction_names
from domains.embeddings import DEFAULT_EMBEDDING_MODEL

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"

# The keys a model profile may have, per backend (docs/models.md).
COMMON_MODEL_KEYS = {"backend", "model", "region", "max_new_tokens", "max_input_tokens"}
MODEL_BACKENDS = {
    "llama_cpp": COMMON_MODEL_KEYS,
    "transformers": COMMON_MODEL_KEYS,
    "openai": COMMON_MODEL_KEYS
    | {"base_url", "api_key_env", "api_key_file", "timeout", "retries", "tokenizer"},
}

# How a domain retrieves unless its definition says otherwise (see domains.retrieval).
Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
FUSIONS = ("score", "rrf")
RETRIEVAL_DEFAULTS = {
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


class DefinitionError(ConfigFileError):
    pass


@dataclass(frozen=True)
class DomainDefinition:
    path: Path
    slug: str
    name: str
    description: str
    jurisdictions: list[str]
    roles: list[str]
    system_prompt: str
    models: list[dict[str, Any]]
    answer_examples: list[dict[str, Any]]
    embedding_model: str
    retrieval: dict[str, Any]
    corpus_files: list[Path] = field(default_factory=list)
    sha256: str = ""


def _string(path: Path, data: dict, key: str, *, required: bool = True, default: str = "") -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise DefinitionError(path, key, "is required")
        return default
    if not isinstance(value, str) or (required and not value.strip()):
        raise DefinitionError(path, key, "must be a non-empty string")
    return value.strip()


def _string_list(path: Path, data: dict, key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DefinitionError(path, key, "must be a non-empty list of strings")
    return value


def _mapping(path: Path, data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise DefinitionError(path, key, "must be a mapping")
    return value


def _positive_int(
    path: Path, section: dict, key: str, label: str, default: int, maximum: int
) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise DefinitionError(path, label, f"must be an integer from 1 to {maximum}")
    return value


def _model_profile(path: Path, key: str, model: Any) -> dict[str, Any]:
    if not isinstance(model, dict):
        raise DefinitionError(path, key, "must be a mapping")
    backend = model.get("backend", "transformers")
    if backend not in MODEL_BACKENDS:
        raise DefinitionError(path, f"{key}.backend", f"must be one of {sorted(MODEL_BACKENDS)}")
    if "api_key" in model:
        raise DefinitionError(
            path,
            f"{key}.api_key",
            "must not be written in the definition: name an environment variable (api_key_env) "
            "or a file (api_key_file) that holds it",
        )
    unknown = set(model) - MODEL_BACKENDS[backend]
    if unknown:
        raise DefinitionError(
            path, f"{key}.{sorted(unknown)[0]}", f"is not a key of a {backend} model"
        )
    if not isinstance(model.get("model"), str) or not model["model"]:
        raise DefinitionError(
            path, f"{key}.model", "is required (a prepared model name, a file or a directory)"
        )
    region = model.get("region")
    if region is not None and (not isinstance(region, str) or not region):
        raise DefinitionError(path, f"{key}.region", "must be a region name")
    profile = {
        "backend": backend,
        "model": model["model"],
        # None: the region the worker runs in (ASSISTANT_LOCAL_MODEL_REGION).
        "region": region,
        "max_new_tokens": _positive_int(
            path, model, "max_new_tokens", f"{key}.max_new_tokens", 200, 2048
        ),
        "max_input_tokens": _positive_int(
            path, model, "max_input_tokens", f"{key}.max_input_tokens", 1536, 32768
        ),
    }
    if backend == "openai":
        profile.update(_endpoint(path, key, model))
    return profile


def _endpoint(path: Path, key: str, model: dict[str, Any]) -> dict[str, Any]:
    """The settings of a model served over the OpenAI API."""
    base_url = model.get("base_url")
    if not isinstance(base_url, str) or not re.match(r"^https?://[^\s/]+", base_url):
        raise DefinitionError(path, f"{key}.base_url", "must be an http(s) URL")
    # A remote endpoint runs somewhere else than the worker: data residency needs to know where.
    if model.get("region") is None:
        raise DefinitionError(
            path, f"{key}.region", "is required for an openai backend (where the endpoint runs)"
        )
    if "api_key_env" in model and "api_key_file" in model:
        raise DefinitionError(path, f"{key}.api_key_file", "give api_key_env or api_key_file")
    endpoint: dict[str, Any] = {"base_url": base_url}
    for name in ("api_key_env", "api_key_file", "tokenizer"):
        if name in model:
            if not isinstance(model[name], str) or not model[name]:
                raise DefinitionError(path, f"{key}.{name}", "must be a non-empty string")
            endpoint[name] = model[name]
    endpoint["timeout"] = _positive_int(path, model, "timeout", f"{key}.timeout", 60, 600)
    retries = model.get("retries", 2)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 5:
        raise DefinitionError(path, f"{key}.retries", "must be an integer from 0 to 5")
    endpoint["retries"] = retries
    return endpoint


def load_definition(path: Path) -> DomainDefinition:
    raw = path.read_bytes()
    data = parse_yaml(path, raw, DefinitionError)
    if not isinstance(data, dict):
        raise DefinitionError(path, "<document>", "must be a mapping")
    known_keys = {
        "slug",
        "name",
        "description",
        "jurisdictions",
        "roles",
        "system_prompt",
        "answer_examples",
        "models",
        "embedding",
        "retrieval",
        "corpus",
    }
    for key in data:
        if key not in known_keys:
            raise DefinitionError(
                path, str(key), f"is not a known key ({', '.join(sorted(known_keys))})"
            )

    slug = _string(path, data, "slug")
    if slug != path.parent.name:
        raise DefinitionError(path, "slug", f"must match its folder name {path.parent.name!r}")
    jurisdictions = _string_list(path, data, "jurisdictions")
    known = jurisdiction_names()
    for code in jurisdictions:
        if code not in known:
            raise DefinitionError(
                path,
                "jurisdictions",
                f"{code!r} is not a jurisdiction with a policy ({', '.join(known)})",
            )

    models = data.get("models")
    if not isinstance(models, list) or not models:
        raise DefinitionError(path, "models", "must be a non-empty list of model backends")
    model_profiles = [
        _model_profile(path, f"models[{position}]", model) for position, model in enumerate(models)
    ]

    embedding = _mapping(path, data, "embedding")
    embedding_model = embedding.get("model", DEFAULT_EMBEDDING_MODEL)
    if not isinstance(embedding_model, str) or not embedding_model:
        raise DefinitionError(path, "embedding.model", "must be a model name or directory")

    retrieval_section = _mapping(path, data, "retrieval")
    min_score = retrieval_section.get("min_score", 0.25)
    if not isinstance(min_score, int | float) or not -1 <= min_score <= 1:
        raise DefinitionError(path, "retrieval.min_score", "must be a number from -1 to 1")
    mode = retrieval_section.get("mode", RETRIEVAL_DEFAULTS["mode"])
    if mode not in MODES:
        raise DefinitionError(path, "retrieval.mode", "must be hybrid, dense or lexical")
    fusion = retrieval_section.get("fusion", RETRIEVAL_DEFAULTS["fusion"])
    if fusion not in FUSIONS:
        raise DefinitionError(path, "retrieval.fusion", "must be " + " or ".join(FUSIONS))
    weights = {}
    for key, highest in (
        ("dense_weight", 10),
        ("lexical_weight", 10),
        ("length_weight", 1),
        ("fragment_penalty", 1),
        ("late_weight", 10),
    ):
        value = retrieval_section.get(key, RETRIEVAL_DEFAULTS[key])
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0 <= value <= highest
        ):
            raise DefinitionError(path, f"retrieval.{key}", f"must be a number from 0 to {highest}")
        weights[key] = float(value)
    retrieval = {
        "top_k": _positive_int(path, retrieval_section, "top_k", "retrieval.top_k", 4, 20),
        "min_score": float(min_score),
        "mode": mode,
        "fusion": fusion,
        "candidates": _positive_int(
            path, retrieval_section, "candidates", "retrieval.candidates", 100, 1000
        ),
        "rrf_k": _positive_int(path, retrieval_section, "rrf_k", "retrieval.rrf_k", 60, 1000),
        **weights,
    }

    corpus = data.get("corpus", [])
    if not isinstance(corpus, list) or not all(isinstance(item, str) for item in corpus):
        raise DefinitionError(path, "corpus", "must be a list of file names next to domain.yaml")
    corpus_files = []
    for name in corpus:
        corpus_path = (path.parent / name).resolve()
        if path.parent.resolve() not in corpus_path.parents or not corpus_path.is_file():
            raise DefinitionError(path, "corpus", f"{name!r} is not a file in {path.parent}")
        corpus_files.append(corpus_path)

    digest = hashlib.sha256(raw)
    for corpus_path in corpus_files:
        digest.update(corpus_path.read_bytes())

    return DomainDefinition(
        path=path,
        slug=slug,
        name=_string(path, data, "name"),
        description=_string(path, data, "description", required=False),
        jurisdictions=jurisdictions,
        roles=_string_list(path, data, "roles"),
        system_prompt=_string(path, data, "system_prompt"),
        answer_examples=_answer_examples(path, data),
        models=model_profiles,
        embedding_model=embedding_model,
        retrieval=retrieval,
        corpus_files=corpus_files,
        sha256=digest.hexdigest(),
    )


MAX_ANSWER_EXAMPLES = 4


def _answer_examples(path: Path, data: dict) -> list[dict[str, Any]]:
    """Worked examples for the answer prompt: numbered evidence, a question, the answer. Each
    answer's ``[n]`` markers must point at its evidence, as the model's must."""
    examples = data.get("answer_examples", [])
    if not isinstance(examples, list) or len(examples) > MAX_ANSWER_EXAMPLES:
        raise DefinitionError(
            path, "answer_examples", f"must be a list of at most {MAX_ANSWER_EXAMPLES} examples"
        )
    checked = []
    for position, example in enumerate(examples):
        key = f"answer_examples[{position}]"
        if not isinstance(example, dict) or set(example) != {"evidence", "question", "answer"}:
            raise DefinitionError(path, key, "must have exactly evidence, question and answer")
        evidence = example["evidence"]
        if not isinstance(evidence, list) or not evidence:
            raise DefinitionError(path, f"{key}.evidence", "must be a non-empty list")
        for number, item in enumerate(evidence, start=1):
            if (
                not isinstance(item, dict)
                or set(item) != {"citation", "text"}
                or not all(isinstance(item[k], str) and item[k].strip() for k in item)
            ):
                raise DefinitionError(
                    path, f"{key}.evidence[{number - 1}]", "must have a non-empty citation and text"
                )
        question = _string(path, example, "question")
        answer = _string(path, example, "answer")
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
        if not markers <= set(range(1, len(evidence) + 1)):
            raise DefinitionError(
                path, f"{key}.answer", f"cites evidence it does not have ({len(evidence)} given)"
            )
        checked.append(
            {
                "evidence": [
                    {"citation": e["citation"].strip(), "text": " ".join(e["text"].split())}
                    for e in evidence
                ],
                "question": question,
                "answer": answer,
            }
        )
    return checked


def catalog_slugs(directory: Path = CATALOG_DIR) -> set[str]:
    """Slugs of the catalog's domains, without validating them (policies refer to these)."""
    return {path.parent.name for path in directory.glob("*/domain.yaml")}


def catalog_definitions(directory: Path = CATALOG_DIR) -> list[DomainDefinition]:
    """Every definition in the catalog; the first invalid one stops the load."""
    return [load_definition(path) for path in sorted(directory.glob("*/domain.yaml"))]
