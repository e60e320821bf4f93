"""Training questions for a domain's embedding model, in either of the two forms we write them.

- Judged by passage: ``{"id", "text", "relevant": [passage ids or relevance keys]}``.
- Judged by citation, as the answer benchmark's questions are: ``{"id", "question", "cite":
  [citation label part, ...], "facts": [regex, ...]}``. The relevant passages are those whose
  citation label contains an expected part and whose text matches every fact; where none
  states every fact, those with the citation. Unanswerable questions (``"answerable": false``)
  name no passage and are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

from compliance.config_files import JsonLinesError, read_json_lines
from domains.evaluation import JudgedQuestion, QuestionsError, read_judged
from domains.models import Domain, Passage


def read_training_questions(domain: Domain, path: Path) -> list[JudgedQuestion]:
    try:
        records = read_json_lines(path)
    except JsonLinesError as exc:
        raise QuestionsError(str(exc)) from None
    if records and isinstance(records[0][1], dict) and "cite" in records[0][1]:
        return judged_by_citation(domain, path, records)
    return read_judged(path)


def judged_by_citation(
    domain: Domain, path: Path, records: list[tuple[int, object]]
) -> list[JudgedQuestion]:
    passages = list(
        Passage.objects.filter(domain=domain).values_list("source_id", "citation", "text")
    )
    questions = []
    for number, record in records:
        where = f"{path}:{number}"
        if not isinstance(record, dict):
            raise QuestionsError(f"{where}: each line must be a JSON object")
        if record.get("answerable", True) is False:
            continue
        text, cite, facts = record.get("question"), record.get("cite"), record.get("facts", [])
        if "id" not in record or not isinstance(text, str) or not text.strip():
            raise QuestionsError(f"{where}: needs an 'id' and a non-empty 'question'")
        if not _strings(cite) or not cite or not _strings(facts):
            raise QuestionsError(f"{where}: 'cite' and 'facts' must be lists of strings")
        try:
            patterns = [re.compile(fact, re.IGNORECASE) for fact in facts]
        except re.error as exc:
            raise QuestionsError(f"{where}: a fact is not a valid regex ({exc})") from None
        cited = [(sid, body) for sid, label, body in passages if any(c in label for c in cite)]
        stating = [sid for sid, body in cited if all(p.search(body) for p in patterns)]
        relevant = stating or [sid for sid, _ in cited]
        questions.append(JudgedQuestion(str(record["id"]), text, frozenset(relevant)))
    if not questions:
        raise QuestionsError(f"{path}: contains no answerable questions")
    return questions


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
