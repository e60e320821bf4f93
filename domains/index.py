"""The faiss index of a domain's passages.

The database holds every passage's embedding; an index file per domain and revision is a cache
of them. A worker keeps the index of each domain in memory and rebuilds or reloads it when the
domain's ``index_revision`` changes, so ingestion on one machine reaches workers on any other.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import faiss
import numpy as np
from django.conf import settings

from compliance.jurisdictions import applies_to
from domains.models import Domain, Passage

T = TypeVar("T")


@dataclass
class LoadedIndex:
    revision: str
    index: faiss.Index
    # passage id -> jurisdictions, to restrict a search to the passages that apply
    jurisdictions: dict[int, list[str]]
    _selectors: dict[str, tuple[int, faiss.IDSelector]] = field(default_factory=dict)

    def selector(self, jurisdiction: str) -> tuple[int, faiss.IDSelector]:
        """How many passages apply to ``jurisdiction`` and a selector of them, made once."""
        if jurisdiction not in self._selectors:
            allowed = np.array(
                [pk for pk, codes in self.jurisdictions.items() if applies_to(codes, jurisdiction)],
                dtype=np.int64,
            )
            self._selectors[jurisdiction] = (len(allowed), faiss.IDSelectorBatch(allowed))
        return self._selectors[jurisdiction]


def index_path(domain: Domain) -> Path:
    return Path(settings.INDEX_DIR) / domain.slug / f"{domain.index_revision}.faiss"


# Exact search is a few milliseconds up to this size and never misses a passage; above it, an
# HNSW graph keeps queries fast at a small cost in recall.
FLAT_LIMIT = 200_000


def _inner_index(dimension: int, count: int) -> faiss.Index:
    if count <= FLAT_LIMIT:
        return faiss.IndexFlatIP(dimension)
    graph = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efSearch = 128
    return graph


def build(domain: Domain) -> faiss.Index:
    rows = list(Passage.objects.filter(domain=domain).values_list("id", "embedding"))
    dimension = 0
    if rows:
        vectors = np.vstack([np.frombuffer(bytes(blob), dtype=np.float32) for _, blob in rows])
        dimension = vectors.shape[1]
    index = faiss.IndexIDMap2(_inner_index(dimension or 1, len(rows)))
    if rows:
        index.add_with_ids(vectors, np.array([pk for pk, _ in rows], dtype=np.int64))
    return index


def write(domain: Domain, index: faiss.Index) -> Path:
    path = index_path(domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a reader never sees half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    faiss.write_index(index, temporary)
    os.replace(temporary, path)
    for stale in path.parent.glob("*.faiss"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def publish(temporary: Path, target: Path) -> None:
    """Put a fully written temporary directory in place as ``target``, so that a reader never
    sees half of it, and remove the other revisions of the same kind beside it."""
    try:
        temporary.rename(target)
    except OSError:  # another process wrote the same revision first
        shutil.rmtree(temporary, ignore_errors=True)
    for stale in target.parent.glob(f"*{target.suffix}"):
        if stale != target:
            shutil.rmtree(stale, ignore_errors=True)


class RevisionCache(Generic[T]):
    """What a process keeps in memory of each domain's index: one revision at a time, opened on
    first use and again when the domain's ``index_revision`` moves on."""

    def __init__(self, open_revision: Callable[[Domain], T]) -> None:
        self._open = open_revision
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, domain: Domain) -> T:
        current = self._items.get(domain.slug)
        if current is not None and current.revision == domain.index_revision:
            return current
        with self._lock:
            current = self._items.get(domain.slug)
            if current is None or current.revision != domain.index_revision:
                current = self._open(domain)
                self._items[domain.slug] = current
            return current

    def clear(self) -> None:
        self._items.clear()


def _open(domain: Domain) -> LoadedIndex:
    """From disk, else built and written."""
    path = index_path(domain)
    if path.exists():
        index = faiss.read_index(str(path))
    else:
        index = build(domain)
        write(domain, index)
    jurisdictions = dict(Passage.objects.filter(domain=domain).values_list("id", "jurisdictions"))
    return LoadedIndex(domain.index_revision, index, jurisdictions)


_loaded = RevisionCache(_open)


def load(domain: Domain) -> LoadedIndex:
    """The index for the domain's current revision: from memory, else from disk, else built."""
    return _loaded.get(domain)


def search(
    domain: Domain, vector: np.ndarray, *, jurisdiction: str | None, k: int
) -> list[tuple[int, float]]:
    """Passage ids and cosine scores, best first, among passages that apply to ``jurisdiction``
    (``None``: every passage)."""
    loaded = load(domain)
    if loaded.index.ntotal == 0:
        return []
    if jurisdiction is None:
        count, params = loaded.index.ntotal, None
    else:
        count, selector = loaded.selector(jurisdiction)
        if not count:
            return []
        params = faiss.SearchParameters(sel=selector)
    scores, ids = loaded.index.search(vector.reshape(1, -1), min(k, count), params=params)
    return [
        (int(pk), float(score)) for pk, score in zip(ids[0], scores[0], strict=True) if pk != -1
    ]


def similarities(domain: Domain, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
    """Cosine similarity of ``vector`` with the given passages (found by another retriever)."""
    loaded = load(domain)
    found = {}
    for pk in ids:
        try:
            stored = loaded.index.reconstruct(int(pk))
        except RuntimeError:  # not in this revision of the index
            continue
        found[pk] = float(np.dot(stored, vector))
    return found
