"""The token vectors of a domain's passages, for late interaction, as files beside the indexes.

The database keeps each passage's token vectors (``Passage.token_vectors``). Fetched from it, the
100 candidates of one question cost 22 ms; kept as one float16 array per index revision and
memory-mapped, they cost well under a millisecond, and the worker processes of a machine share
its pages. Like the other indexes, the files are a cache keyed by the domain's
``index_revision``, rebuilt from the database by any worker that lacks them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from domains.embeddings import TOKEN_DIMENSIONS, token_width
from domains.index import RevisionCache, publish
from domains.models import Domain, Passage


@dataclass
class LoadedTokens:
    revision: str
    ids: np.ndarray  # passage ids, ascending
    offsets: np.ndarray  # passage i's rows are rows[offsets[i]:offsets[i + 1]]
    rows: np.ndarray  # float16, one row per token

    def vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The token vectors of the given passages, those that have them."""
        found = {}
        positions = np.searchsorted(self.ids, ids)
        for pk, position in zip(ids, positions, strict=True):
            if position < len(self.ids) and self.ids[position] == pk:
                start, end = self.offsets[position], self.offsets[position + 1]
                if end > start:
                    found[pk] = self.rows[start:end]
        return found


def directory(domain: Domain) -> Path:
    return Path(settings.INDEX_DIR) / domain.slug / f"{domain.index_revision}.tokens"


def _write(domain: Domain) -> None:
    """From the database, in one pass (one snapshot), to a temporary directory renamed when
    complete: a reader never sees half of it."""
    target = directory(domain)
    target.parent.mkdir(parents=True, exist_ok=True)
    passages = Passage.objects.filter(domain=domain).order_by("id")
    first = passages.values_list("embedding", flat=True).first()
    # the model's dimension, from a float32 passage embedding
    width = token_width(len(bytes(first)) // 4 if first else TOKEN_DIMENSIONS)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, suffix=".tmp"))
    ids, offsets = [], [0]
    with (temporary / "rows.f16").open("wb") as rows:
        for pk, blob in passages.values_list("id", "token_vectors").iterator(chunk_size=500):
            rows.write(blob)
            ids.append(pk)
            offsets.append(offsets[-1] + len(blob) // (2 * width))
    np.save(temporary / "ids.npy", np.array(ids, dtype=np.int64))
    np.save(temporary / "offsets.npy", np.array(offsets, dtype=np.int64))
    (temporary / "width").write_text(str(width))
    publish(temporary, target)


def _open(domain: Domain) -> LoadedTokens:
    path = directory(domain)
    if not (path / "width").exists():
        _write(domain)
    offsets = np.load(path / "offsets.npy")
    width = int((path / "width").read_text())
    rows = (
        np.memmap(path / "rows.f16", dtype=np.float16, mode="r", shape=(int(offsets[-1]), width))
        if offsets[-1]
        else np.zeros((0, width), dtype=np.float16)
    )
    return LoadedTokens(domain.index_revision, np.load(path / "ids.npy"), offsets, rows)


_loaded = RevisionCache(_open)


def load(domain: Domain) -> LoadedTokens:
    return _loaded.get(domain)


def vectors(domain: Domain, ids: list[int]) -> dict[int, np.ndarray]:
    """The token vectors of these passages of the domain's current index revision."""
    return load(domain).vectors(ids)
