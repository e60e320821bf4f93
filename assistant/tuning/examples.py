"""Training examples for a domain's generative model. Each is the exact prompt the answer step
gives the model (the domain's instructions and worked examples, the numbered evidence chosen by
retrieval and evidence selection, the question) and the answer the model should write in the
product's answer form: the evidence's own words with a ``[n]`` marker, or the abstention.

The examples come from question files (``assistant.benchmarking.questions``):

- a written answer (``"answer"`` and ``"cite"``): the target is that answer, marked with the
  number of the evidence whose label has the cited part;
- facts and a citation (``"facts"``, ``"cite"``): the target is the shortest run of at most two
  sentences of the cited evidence that states every fact, copied;
- a question the corpus does not answer: the target is the abstention, over the evidence a
  search finds (the near miss).

When retrieval misses the cited passage, it is put among the retrieved ones at a random place,
so that the model learns to pick the evidence that answers from beside others that do not.
Every target is checked by the answer step's own verifier against the evidence it is shown; a
target that would not survive verification is not trained on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.benchmarking.questions import Question
from assistant.grounding.evidence import Evidence, EvidenceSettings, choose
from assistant.grounding.prompt import ABSTAIN_SENTENCE, grounded_messages
from assistant.grounding.text import sentence_spans
from assistant.grounding.verify import verify
from domains.embeddings import embed_cached
from domains.models import Domain, Passage
from domains.selectors import RetrievedPassage, passages_retrieve

# Every unit is scored and the best ones kept, however weak: the model must learn what to write
# over the evidence it would be shown, and the near misses are weak evidence by nature.
_ALL_UNITS = EvidenceSettings(min_score=float("-inf"), require_kind=False)
# The answer step stops a draft after this many sentences (``DraftWatch``).
MAX_SENTENCES = 2
# A training question this close to a question of the benchmark (cosine similarity of their
# embeddings) is left out, so that no benchmark question is trained on in other words.
NEAR_DUPLICATE = 0.92


@dataclass(frozen=True)
class TrainingExample:
    id: str
    domain: str
    messages: list[dict[str, str]]
    target: str
    answerable: bool
    # Whether retrieval found the cited passage itself (else it was put among the others).
    retrieved: bool = True

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Built:
    examples: list[TrainingExample]
    skipped: Counter

    @property
    def sha256(self) -> str:
        """Of the examples as trained on, in order: the manifest's data hash."""
        digest = hashlib.sha256()
        for example in self.examples:
            digest.update(json.dumps([example.messages, example.target]).encode())
        return digest.hexdigest()


def build_examples(
    questions: Sequence[Question],
    domains: dict[str, Domain],
    *,
    count_tokens: Callable[[list[dict[str, str]]], int],
    max_input_tokens: int,
    seed: int = 0,
) -> Built:
    rng = random.Random(seed)
    built = Built([], Counter())
    for question in questions:
        domain = domains[question.domain]
        example, problem = _example(
            question, domain, rng, count_tokens=count_tokens, max_input_tokens=max_input_tokens
        )
        if example is None:
            built.skipped[problem] += 1
        else:
            built.examples.append(example)
    return built


def _example(
    question: Question,
    domain: Domain,
    rng: random.Random,
    *,
    count_tokens: Callable[[list[dict[str, str]]], int],
    max_input_tokens: int,
) -> tuple[TrainingExample | None, str]:
    def embed(texts: list[str]) -> np.ndarray:
        return embed_cached(texts, model=domain.embedding_model)

    passages, _ = passages_retrieve(
        domain=domain, jurisdiction=question.jurisdiction, query=question.text
    )
    units = choose(question.text, passages, embed=embed, settings=_ALL_UNITS).units
    retrieved = True
    if question.answerable:
        gold = _answering(question, units)
        if gold is None:
            retrieved = False
            cited = _cited_units(question, domain, embed)
            if not cited:
                return None, "no passage of the domain has the cited label"
            gold = _answering(question, cited)
            if gold is None:
                return None, "no two sentences of the cited evidence state every fact"
            units = _placed(gold, [e for e in units if e.passage.text != gold.passage.text], rng)
            gold = next(e for e in units if e.passage is gold.passage)
        answer = question.answer or _stated(question.facts, gold.focus)
        target = _marked(answer, gold.number)
        verification = verify(target, units)
        if not verification.sentences or len(verification.kept) < len(verification.sentences):
            reasons = ", ".join(verification.dropped) or "no sentence"
            return None, f"the answer does not survive verification ({reasons})"
    else:
        if not units:
            return None, "retrieval found no evidence to abstain over"
        gold, target = None, ABSTAIN_SENTENCE
    messages, included = grounded_messages(
        system_prompt=domain.system_prompt,
        examples=domain.answer_examples,
        evidence=units,
        question=question.text,
        count_tokens=count_tokens,
        max_input_tokens=max_input_tokens,
    )
    if gold is not None and gold not in included:
        return None, "the cited evidence does not fit in the prompt"
    return (
        TrainingExample(
            question.id, question.domain, messages, target, question.answerable, retrieved
        ),
        "",
    )


def _cites(citation: str, parts: Sequence[str]) -> bool:
    return any(part in citation for part in parts)


def _answering(question: Question, units: Sequence[Evidence]) -> Evidence | None:
    """The first unit with the cited label that can be the answer: any, for a written answer;
    one whose shown text states every fact, for facts."""
    for unit in units:
        if _cites(unit.citation, question.cite) and (
            question.answer or _stated(question.facts, unit.focus)
        ):
            return unit
    return None


def _cited_units(
    question: Question, domain: Domain, embed: Callable[[list[str]], np.ndarray]
) -> list[Evidence]:
    """The units of the passages whose label has the cited part, best first, scored as
    retrieval would have scored them."""
    rows = [
        p
        for p in Passage.objects.filter(domain=domain).only(
            "id", "source_id", "citation", "title", "text", "embedding", "jurisdictions"
        )
        if _cites(p.citation, question.cite)
        and (question.jurisdiction in p.jurisdictions or "*" in p.jurisdictions)
    ]
    if not rows:
        return []
    asked = embed([question.text])[0]
    passages = [
        RetrievedPassage(
            id=p.id,
            source_id=p.source_id,
            citation=p.citation,
            title=p.title,
            text=p.text,
            score=round(float(np.frombuffer(p.embedding, dtype=np.float32) @ asked), 4),
        )
        for p in rows
    ]
    settings = dataclasses.replace(_ALL_UNITS, max_units=len(passages) * 50, margin=float("inf"))
    return choose(question.text, passages, embed=embed, settings=settings).units


def _placed(gold: Evidence, others: list[Evidence], rng: random.Random) -> list[Evidence]:
    """``gold`` among at most ``max_units - 1`` of ``others`` at a random place, renumbered."""
    items = others[: _ALL_UNITS.max_units - 1]
    items.insert(rng.randint(0, len(items)), gold)
    return [e.renumbered(n) for n, e in enumerate(items, start=1)]


def _stated(facts: Sequence[str], text: str) -> str:
    """The shortest run of at most ``MAX_SENTENCES`` sentences of ``text`` that matches every
    fact pattern ("" when there is none)."""
    spans = sentence_spans(text)
    for length in range(1, MAX_SENTENCES + 1):
        for first in range(len(spans) - length + 1):
            run = text[spans[first][0] : spans[first + length - 1][1]]
            if all(re.search(fact, run, re.IGNORECASE) for fact in facts):
                return " ".join(run.split())
    return ""


def _marked(answer: str, number: int) -> str:
    """``answer`` with the marker ``[number]`` before each sentence's closing punctuation, as
    the domain's worked examples write it."""
    sentences = []
    for start, end in sentence_spans(answer):
        sentence = answer[start:end].rstrip()
        stop = sentence[-1] if sentence[-1] in ".!?" else "."
        sentences.append(f"{sentence.rstrip('.!?').rstrip()} [{number}]{stop}")
    return " ".join(sentences)


def near_duplicates(
    questions: Sequence[Question], others: Sequence[Question], *, model: str
) -> set[str]:
    """The ids of ``questions`` that are ``others`` in other words (embedding cosine similarity
    at least ``NEAR_DUPLICATE``)."""
    if not questions or not others:
        return set()
    mine = embed_cached([q.text for q in questions], model=model)
    theirs = embed_cached([q.text for q in others], model=model)
    closest = (mine @ theirs.T).max(axis=1)
    return {
        q.id
        for q, similarity in zip(questions, closest, strict=True)
        if similarity >= NEAR_DUPLICATE
    }


def abstentions_capped(
    examples: list[TrainingExample], share: float, seed: int = 0
) -> list[TrainingExample]:
    """``examples`` with abstentions left out at random until they are at most ``share`` of
    them; the order of the rest is kept."""
    abstentions = [e for e in examples if not e.answerable]
    answers = len(examples) - len(abstentions)
    allowed = len(abstentions) if share >= 1 else int(share * answers / (1 - share))
    if len(abstentions) <= allowed:
        return examples
    kept = {id(e) for e in random.Random(seed).sample(abstentions, allowed)}
    return [e for e in examples if e.answerable or id(e) in kept]
