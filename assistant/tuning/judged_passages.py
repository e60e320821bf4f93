"""Training examples from questions judged by passage (``{"id", "text", "relevant": [keys]}``,
as ``obliqa_convert`` writes them) over a corpus file that is not a domain of the service: the
ObliQA questions set apart for training, over the ADGM rulebooks, for the finance domain.

The evidence is the gold passage's best unit beside distractors, BM25's best passages for the
question that are not judged relevant, in a random order; the answer to learn is that unit,
copied, with its marker. The prompt is the domain's, as the answer step builds it. No
abstention is learnt from these questions: their passages were judged for relevance, not
exhaustively, and BM25's best passages on the subject often answer in part (a look at the
first few showed it), so "the others do not answer" would be taught wrongly.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.grounding.evidence import Evidence, choose
from assistant.grounding.prompt import grounded_messages
from assistant.grounding.text import sentence_spans
from assistant.grounding.verify import verify
from assistant.tuning.examples import _ALL_UNITS, MAX_SENTENCES, TrainingExample, _marked, _placed
from domains.embeddings import embed_cached
from domains.models import Domain
from domains.selectors import RetrievedPassage

DISTRACTORS = 2
# A unit longer than this is not an answer a model should copy.
MAX_ANSWER_WORDS = 80


class JudgedPassagesError(Exception):
    """A file that cannot be used; the message names the file and the line."""


def _rows(path: Path) -> list[dict]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise JudgedPassagesError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise JudgedPassagesError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
    return rows


def judged_examples(
    questions_path: Path,
    corpus_path: Path,
    domain: Domain,
    *,
    limit: int,
    count_tokens: Callable[[list[dict[str, str]]], int],
    max_input_tokens: int,
    seed: int = 0,
) -> tuple[list[TrainingExample], Counter]:
    rows = _rows(corpus_path)
    if not any(len(str(row.get("text", "")).split()) >= 8 for row in rows):
        raise JudgedPassagesError(f"{corpus_path}: no passage of eight words or more")
    corpus = _Corpus(rows, domain)
    questions = _rows(questions_path)
    rng = random.Random(seed)
    rng.shuffle(questions)
    examples: list[TrainingExample] = []
    skipped: Counter = Counter()
    for row in questions:
        if len(examples) >= limit:
            break
        units, target, problem = corpus.evidence_and_answer(
            str(row.get("text", "")), {str(key) for key in row.get("relevant", [])}, rng
        )
        if problem:
            skipped[problem] += 1
            continue
        messages, included = grounded_messages(
            system_prompt=domain.system_prompt,
            examples=domain.answer_examples,
            evidence=units,
            question=str(row["text"]),
            count_tokens=count_tokens,
            max_input_tokens=max_input_tokens,
        )
        if len(included) < len(units):
            skipped["the evidence does not fit in the prompt"] += 1
            continue
        examples.append(TrainingExample(str(row.get("id")), domain.slug, messages, target, True))
    return examples, skipped


class _Corpus:
    def __init__(self, rows: list[dict], domain: Domain) -> None:
        import bm25s

        # Headings are no evidence.
        self.rows = [row for row in rows if len(str(row.get("text", "")).split()) >= 8]
        self.keys = [
            str(row.get("metadata", {}).get("relevance_key", row.get("id"))) for row in self.rows
        ]
        self.by_key = {key: index for index, key in enumerate(self.keys)}
        self.model = domain.embedding_model
        self.retriever = bm25s.BM25()
        self.retriever.index(
            bm25s.tokenize([row["text"] for row in self.rows], stopwords="en", show_progress=False),
            show_progress=False,
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        return embed_cached(texts, model=self.model)

    def passage(self, index: int) -> RetrievedPassage:
        metadata = self.rows[index].get("metadata", {})
        return RetrievedPassage(
            id=index,
            source_id=str(self.rows[index].get("id", index)),
            citation=f"ADGM {metadata.get('passage_id', self.keys[index])}".strip(),
            title="",
            text=self.rows[index]["text"],
            score=0.5,
        )

    def distractors(self, question: str, relevant: set[str]) -> list[int]:
        """BM25's best passages for the question that are not judged relevant."""
        import bm25s

        hits, _ = self.retriever.retrieve(
            bm25s.tokenize([question], stopwords="en", show_progress=False),
            k=min(10, len(self.rows)),
            show_progress=False,
        )
        return [int(i) for i in hits[0] if self.keys[int(i)] not in relevant][:DISTRACTORS]

    def evidence_and_answer(
        self, question: str, relevant: set[str], rng: random.Random
    ) -> tuple[list[Evidence], str, str]:
        """The numbered evidence, the answer to learn, and why there is none ("" if there is)."""
        gold = [self.by_key[key] for key in sorted(relevant) if key in self.by_key]
        if not question or not gold:
            return [], "", "the judged passage is not in the corpus (or is a heading)"
        best = choose(question, [self.passage(gold[0])], embed=self.embed, settings=_ALL_UNITS)
        if not best.units:
            return [], "", "the judged passage has no unit of evidence"
        answer = " ".join(best.units[0].focus.split())
        if len(sentence_spans(answer)) > MAX_SENTENCES or len(answer.split()) > MAX_ANSWER_WORDS:
            return [], "", "the judged passage's best unit is too long to copy as an answer"
        others = choose(
            question,
            [self.passage(i) for i in self.distractors(question, relevant)],
            embed=self.embed,
            settings=_ALL_UNITS,
        ).units
        units = _placed(best.units[0], others, rng)
        number = next(e.number for e in units if e.passage.id == gold[0])
        target = _marked(answer, number)
        verification = verify(target, units)
        if not verification.sentences or len(verification.kept) < len(verification.sentences):
            return [], "", "the copied unit does not survive verification"
        return units, target, ""
