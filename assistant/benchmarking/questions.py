"""The benchmark's question files: one JSON object per line,
``{"id", "domain", "jurisdiction", "question", "facts": [regex, ...], "cite": [label part, ...]}``
or, for a question the corpus does not answer, ``{..., "answerable": false}``. Training files for
a domain's generative model (``slm_finetune``) use the same format, where an answerable line
may give the answer to learn instead of facts: ``{..., "cite": "label", "answer": "..."}``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


class QuestionsError(Exception):
    """A question file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Question:
    id: str
    domain: str
    jurisdiction: str
    text: str
    answerable: bool = True
    facts: list[str] = field(default_factory=list)
    cite: list[str] = field(default_factory=list)
    answer: str = ""  # a written answer to learn, in training files


def read_questions(path: Path) -> list[Question]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionsError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    questions, seen = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionsError(f"{where}: invalid JSON ({exc.msg})") from None
        question = _question(row, where)
        if question.id in seen:
            raise QuestionsError(f"{where}: id {question.id!r} appears twice")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise QuestionsError(f"{path}: no questions")
    return questions


def _question(row: object, where: str) -> Question:
    if not isinstance(row, dict):
        raise QuestionsError(f"{where}: must be a JSON object")
    for key in ("id", "domain", "jurisdiction", "question"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise QuestionsError(f"{where}: {key!r} must be a non-empty string")
    answerable = row.get("answerable", True)
    if not isinstance(answerable, bool):
        raise QuestionsError(f"{where}: 'answerable' must be true or false")
    answer = row.get("answer", "")
    if not isinstance(answer, str) or (answer and not answerable):
        raise QuestionsError(f"{where}: 'answer' must be a string, on an answerable question")
    lists = {}
    for key in ("facts", "cite"):
        value = row.get(key, [])
        value = [value] if isinstance(value, str) and key == "cite" else value
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise QuestionsError(f"{where}: {key!r} must be a list of non-empty strings")
        if answerable and not value and not (key == "facts" and answer.strip()):
            raise QuestionsError(f"{where}: an answerable question needs {key!r}")
        lists[key] = value
    for fact in lists["facts"]:
        try:
            re.compile(fact)
        except re.error as exc:
            raise QuestionsError(
                f"{where}: fact {fact!r} is not a regular expression ({exc})"
            ) from None
    return Question(
        id=row["id"],
        domain=row["domain"],
        jurisdiction=row["jurisdiction"],
        text=row["question"],
        answerable=answerable,
        facts=lists["facts"],
        cite=lists["cite"],
        answer=answer.strip(),
    )
