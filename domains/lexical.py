"""The lexical (BM25) index of a domain's passages, beside the faiss index.

Regulatory questions often share rare words with the rule that answers them ("exit facility",
"ISPV"), which BM25 ranks well and a small embedding model does not; the two are fused in
``domains.retrieval``. Like the faiss index, the file is a cache keyed by the domain's
``index_revision``: a worker loads it once and reloads it when the revision changes.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from django.conf import settings

from compliance.jurisdictions import applies_to
from domains.index import RevisionCache, publish
from domains.ingestion import passage_text
from domains.models import Domain, Passage

_stemmer = Stemmer.Stemmer("english")
# bm25s sets its logger to DEBUG when imported, after Django's logging settings, which would
# print a line per index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Regulatory questions name multi-word terms ("beneficial owner", "exit facility") whose words are
# common on their own. Adjacent word pairs (after stop words go) are indexed as terms too, and a
# lower k1 saturates repeated words sooner. On ObliQA this raised BM25's MAP@10 by about 0.025,
# on the tuning questions and on the held-out ones alike (docs/retrieval.md, measured figures).
K1 = 0.9
B = 0.75
# Rule numbers ("Rule 8.1.2(1)", "Rule A10.4.2", "45 CFR 164.404") would reach the index as a bare
# "8", shared by every rule of chapter 8. Questions cite them, and the passage that answers often
# cites the same rule, so each is also a term of its own, whole and with its parent ("8.1").
REFERENCE = re.compile(r"(?<![\w.])([A-Z]{0,3}\d+(?:\.\d+)+)(?!\d)")
# Part of the index directory's name: an index written with other tokens or parameters is not
# read with these.
FORMAT = "bigram-refs-k0.9-b0.75"


def tokenize(texts: list[str], *, plain: bool = False) -> list[list[str]]:
    """Stemmed words without stop words; unless ``plain``, also adjacent word pairs and rule
    numbers."""
    words = bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer, return_ids=False, show_progress=False
    )
    if plain:
        return words
    return [
        tokens + [f"{a}_{b}" for a, b in itertools.pairwise(tokens)] + references(text)
        for text, tokens in zip(texts, words, strict=True)
    ]


def references(text: str) -> list[str]:
    """The rule numbers cited in ``text`` as terms: ``§8.1.2`` and its parent ``§8.1``."""
    terms = []
    for number in REFERENCE.findall(text):
        number = number.lower()
        terms.append(f"§{number}")
        if number.count(".") >= 2:
            terms.append(f"§{number.rsplit('.', 1)[0]}")
    return terms


class PlainBM25:
    """BM25 as a baseline: single words and ``bm25s``'s default parameters, in memory."""

    def __init__(self, domain: Domain) -> None:
        rows = list(
            Passage.objects.filter(domain=domain)
            .order_by("id")
            .values_list("id", "citation", "title", "text", "source_id")
        )
        self.ids = np.array([row[0] for row in rows], dtype=np.int64)
        self.model = bm25s.BM25()
        self.model.index(
            tokenize([passage_text(*row[1:]) for row in rows], plain=True), show_progress=False
        )

    def search(self, query: str, *, k: int) -> list[tuple[int, float]]:
        tokens = tokenize([query], plain=True)
        if not tokens[0] or not len(self.ids):
            return []
        return _retrieve(self.model, self.ids, tokens, k=min(k, len(self.ids)))


@dataclass
class LoadedLexical:
    revision: str
    model: bm25s.BM25 | None
    ids: np.ndarray  # passage pk by BM25 document position
    jurisdictions: list[list[str]]
    words: np.ndarray  # words in each passage's text, by position (for the length prior)
    _masks: dict[str | None, np.ndarray] = field(default_factory=dict)
    _positions: dict[int, int] | None = None

    def mask(self, jurisdiction: str | None) -> np.ndarray:
        """1 for the passages that apply to ``jurisdiction``, computed once per jurisdiction."""
        if jurisdiction not in self._masks:
            self._masks[jurisdiction] = np.array(
                [jurisdiction is None or applies_to(c, jurisdiction) for c in self.jurisdictions],
                dtype=np.float32,
            )
        return self._masks[jurisdiction]

    def word_counts(self, ids: list[int]) -> dict[int, int]:
        if self._positions is None:
            self._positions = {int(pk): position for position, pk in enumerate(self.ids)}
        return {pk: int(self.words[self._positions[pk]]) for pk in ids if pk in self._positions}


def index_dir(domain: Domain) -> Path:
    return Path(settings.INDEX_DIR) / domain.slug / f"{domain.index_revision}.{FORMAT}.bm25"


def build(domain: Domain) -> LoadedLexical:
    rows = list(
        Passage.objects.filter(domain=domain)
        .order_by("id")
        .values_list("id", "citation", "title", "text", "source_id", "jurisdictions")
    )
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    jurisdictions = [row[5] for row in rows]
    words = np.array([len(row[3].split()) for row in rows], dtype=np.int32)
    if not rows:
        return LoadedLexical(domain.index_revision, None, ids, jurisdictions, words)
    model = bm25s.BM25(k1=K1, b=B)
    model.index(tokenize([passage_text(*row[1:5]) for row in rows]), show_progress=False)
    return LoadedLexical(domain.index_revision, model, ids, jurisdictions, words)


def _write(domain: Domain, loaded: LoadedLexical) -> None:
    target = index_dir(domain)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary directory and renamed: a reader never sees half an index.
    temporary = Path(tempfile.mkdtemp(dir=target.parent, suffix=".tmp"))
    assert loaded.model is not None
    loaded.model.save(str(temporary), show_progress=False)
    np.save(temporary / "passage_ids.npy", loaded.ids)
    np.save(temporary / "words.npy", loaded.words)
    (temporary / "jurisdictions.json").write_text(json.dumps(loaded.jurisdictions))
    publish(temporary, target)


def _read(domain: Domain) -> LoadedLexical | None:
    directory = index_dir(domain)
    if not (directory / "passage_ids.npy").exists():
        return None
    model = bm25s.BM25.load(str(directory), show_progress=False)
    ids = np.load(directory / "passage_ids.npy")
    words = np.load(directory / "words.npy")
    jurisdictions = json.loads((directory / "jurisdictions.json").read_text())
    return LoadedLexical(domain.index_revision, model, ids, jurisdictions, words)


def _open(domain: Domain) -> LoadedLexical:
    """From disk, else built and written."""
    current = _read(domain)
    if current is None:
        current = build(domain)
        if current.model is not None:
            _write(domain, current)
    return current


_loaded = RevisionCache(_open)


def load(domain: Domain) -> LoadedLexical:
    return _loaded.get(domain)


def search(
    domain: Domain, query: str, *, jurisdiction: str | None, k: int
) -> list[tuple[int, float]]:
    """Passage ids and BM25 scores, best first, among passages that apply to ``jurisdiction``
    (``None``: every passage)."""
    loaded = load(domain)
    if loaded.model is None:
        return []
    mask = loaded.mask(jurisdiction)
    allowed = int(mask.sum())
    tokens = tokenize([query])
    if not allowed or not tokens[0]:
        return []
    return _retrieve(loaded.model, loaded.ids, tokens, k=min(k, allowed), weight_mask=mask)


def _retrieve(
    model: bm25s.BM25, ids: np.ndarray, tokens: list[list[str]], *, k: int, **options
) -> list[tuple[int, float]]:
    """Passage ids and scores of the ``k`` best documents for one tokenized query, leaving out
    those that share no term with it."""
    positions, scores = model.retrieve(tokens, k=k, show_progress=False, n_threads=1, **options)
    return [
        (int(ids[position]), float(score))
        for position, score in zip(positions[0], scores[0], strict=True)
        if score > 0
    ]


def word_counts(domain: Domain, ids: list[int]) -> dict[int, int]:
    """Words in the text of each given passage of the domain's current index revision."""
    return load(domain).word_counts(ids)
