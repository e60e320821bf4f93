"""Parsing documents into passages: JSONL passages, Markdown, plain text, HTML, PDF and DOCX
(the last ones through ``domains.documents``).

Parsing is pure: files in, passage drafts out, with errors that name the file and line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from compliance.jurisdictions import EVERYWHERE, jurisdiction_names
from domains import documents

MAX_ID_CHARS = 200
SUPPORTED_SUFFIXES = {
    ".jsonl": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}


class IngestionError(Exception):
    def __init__(self, path: Path, problem: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class PassageDraft:
    source_id: str
    citation: str
    text: str
    jurisdictions: list[str]
    source: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_sha256(self) -> str:
        payload = json.dumps(
            [self.citation, self.title, self.text, sorted(self.jurisdictions), self.metadata],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def embedding_text(self) -> str:
        return passage_text(self.citation, self.title, self.text, self.source_id)


def passage_text(citation: str, title: str, text: str, source_id: str) -> str:
    """What the embedding model and BM25 see of a passage. The citation and title carry the
    vocabulary questions use ("breach notification"); a citation that is only the passage's id
    (a JSONL passage without one) carries no words worth matching."""
    parts = [citation if citation != source_id else "", title, text]
    return " \n".join(part for part in parts if part)


def _jurisdictions(path: Path, value: Any, line: int | None, default: list[str]) -> list[str]:
    if value is None:
        return default
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        raise IngestionError(path, "metadata.jurisdictions must be a code or a list of codes", line)
    for code in codes:
        if code != EVERYWHERE and code not in jurisdiction_names():
            raise IngestionError(
                path, f"unknown jurisdiction {code!r} in metadata.jurisdictions", line
            )
    return codes


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise IngestionError(path, f"is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise IngestionError(path, f"cannot be read ({exc.strerror})") from None


def parse_jsonl(path: Path, *, jurisdictions: list[str], source: str) -> list[PassageDraft]:
    """One passage per line: ``{"id": str, "text": str, "metadata": {...}}``.

    Recognised metadata: ``citation`` (defaults to the id), ``title``, ``jurisdictions``; other
    keys are kept as they are.
    """
    drafts = []
    seen: set[str] = set()
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestionError(
                path, f"invalid JSON ({exc.msg} at column {exc.colno})", number
            ) from None
        if not isinstance(record, dict):
            raise IngestionError(path, "each line must be a JSON object", number)
        passage_id = record.get("id")
        if (
            not isinstance(passage_id, str | int)
            or isinstance(passage_id, bool)
            or not str(passage_id).strip()
        ):
            raise IngestionError(path, "'id' must be a non-empty string", number)
        passage_id = str(passage_id).strip()
        if len(passage_id) > MAX_ID_CHARS:
            raise IngestionError(path, f"'id' is longer than {MAX_ID_CHARS} characters", number)
        if passage_id in seen:
            raise IngestionError(path, f"duplicate id {passage_id!r}", number)
        seen.add(passage_id)
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise IngestionError(path, "'text' must be a non-empty string", number)
        metadata = record.get("metadata", {})
        if not isinstance(metadata, dict):
            raise IngestionError(path, "'metadata' must be an object", number)
        metadata = dict(metadata)
        citation = metadata.pop("citation", None) or passage_id
        title = metadata.pop("title", "") or ""
        if not isinstance(citation, str) or not isinstance(title, str):
            raise IngestionError(
                path, "metadata.citation and metadata.title must be strings", number
            )
        codes = _jurisdictions(path, metadata.pop("jurisdictions", None), number, jurisdictions)
        drafts.append(
            PassageDraft(
                source_id=passage_id,
                citation=citation[:200],
                title=title[:300],
                text=text.strip(),
                jurisdictions=codes,
                source=source,
                metadata=metadata,
            )
        )
    if not drafts:
        raise IngestionError(path, "contains no passages")
    return drafts


def _paragraphs(text: str) -> list[str]:
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]


def _front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        return {}, text
    try:
        front = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError:
        raise IngestionError(path, "front matter is not valid YAML", 1) from None
    if not isinstance(front, dict):
        raise IngestionError(path, "front matter must be a mapping", 1)
    return front, text[end + 4 :]


@dataclass(frozen=True)
class DocumentOptions:
    """What the command line (or an upload) says about the documents of a batch."""

    jurisdictions: list[str]
    citation_prefix: str = ""
    effective_date: str = ""


def _drafts_from_blocks(
    path: Path,
    blocks: list[documents.Block],
    *,
    source: str,
    jurisdictions: list[str],
    citation_prefix: str,
    effective_date: str,
) -> list[PassageDraft]:
    units = documents.structure(
        blocks,
        prefix=citation_prefix,
        fallback_unit=documents.unit_from_file_name(path.stem),
        name=path.stem,
    )
    metadata: dict[str, Any] = {"source_file": path.name}
    if effective_date:
        metadata["effective_date"] = effective_date
    drafts = []
    used: set[str] = set()
    for unit in units:
        source_id = f"{path.stem}#{unit.anchor}"[:MAX_ID_CHARS]
        while source_id in used:
            source_id += "-x"
        used.add(source_id)
        drafts.append(
            PassageDraft(
                source_id=source_id,
                citation=unit.citation[:200],
                title=unit.title[:300],
                text=unit.text,
                jurisdictions=jurisdictions,
                source=source,
                metadata=dict(metadata),
            )
        )
    if not drafts:
        raise IngestionError(path, "contains no text")
    return drafts


def _effective_date(path: Path, value: Any) -> str:
    if value in (None, ""):
        return ""
    text = str(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise IngestionError(path, f"effective_date {text!r} is not a date (YYYY-MM-DD)")
    return text


def parse_markdown(path: Path, *, options: DocumentOptions, source: str) -> list[PassageDraft]:
    """Sections by heading; regulatory units (Article N, § N, numbered paragraphs) by their
    citation. Optional YAML front matter may set ``jurisdictions``, ``citation_prefix`` and
    ``effective_date``."""
    front, text = _front_matter(path, _read_text(path))
    return _drafts_from_blocks(
        path,
        documents.read_markdown(text),
        source=source,
        jurisdictions=_jurisdictions(path, front.get("jurisdictions"), 1, options.jurisdictions),
        citation_prefix=str(front.get("citation_prefix") or options.citation_prefix),
        effective_date=_effective_date(path, front.get("effective_date") or options.effective_date),
    )


def _parse_binary(reader):
    """A parser from a reader that returns the blocks and the citation prefix the document
    itself suggests (used when none is given)."""

    def parse(path: Path, *, options: DocumentOptions, source: str) -> list[PassageDraft]:
        try:
            blocks, suggested_prefix = reader(path)
        except documents.DocumentError as exc:
            raise IngestionError(path, str(exc)) from None
        return _drafts_from_blocks(
            path,
            blocks,
            source=source,
            jurisdictions=options.jurisdictions,
            citation_prefix=options.citation_prefix or suggested_prefix,
            effective_date=_effective_date(path, options.effective_date),
        )

    return parse


def _read_html_file(path: Path) -> tuple[list[documents.Block], str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise documents.DocumentError(f"cannot be read ({exc.strerror})") from None
    blocks, title = documents.read_html(data)
    # "General Data Protection Regulation (GDPR)" -> passages cited "GDPR Art. 33(1)"
    return blocks, documents.title_abbreviation(title)


def _without_prefix(reader):
    return lambda path: (reader(path), "")


def parse_text(path: Path, *, options: DocumentOptions, source: str) -> list[PassageDraft]:
    """Regulatory units where the text has them (lines like 'Article 5', '§ 164.404'), else
    paragraphs grouped into passages cited as '<file name>, part N'."""
    text = _read_text(path)
    blocks = documents.read_text(text)
    if any(block.level for block in blocks) or documents.unit_from_file_name(path.stem):
        return _drafts_from_blocks(
            path,
            blocks,
            source=source,
            jurisdictions=options.jurisdictions,
            citation_prefix=options.citation_prefix,
            effective_date=_effective_date(path, options.effective_date),
        )
    jurisdictions = options.jurisdictions
    chunks = documents.pack(_paragraphs(text))
    if not chunks:
        raise IngestionError(path, "contains no text")
    return [
        PassageDraft(
            source_id=f"{path.stem}#part-{number}",
            citation=f"{path.name}, part {number}",
            title=path.stem,
            text=chunk,
            jurisdictions=jurisdictions,
            source=source,
        )
        for number, chunk in enumerate(chunks, start=1)
    ]


def _parse_jsonl(path: Path, *, options: DocumentOptions, source: str) -> list[PassageDraft]:
    return parse_jsonl(path, jurisdictions=options.jurisdictions, source=source)


PARSERS = {
    "jsonl": _parse_jsonl,
    "markdown": parse_markdown,
    "text": parse_text,
    "html": _parse_binary(_read_html_file),
    "pdf": _parse_binary(_without_prefix(documents.read_pdf)),
    "docx": _parse_binary(_without_prefix(documents.read_docx)),
}


def parse_file(
    path: Path,
    *,
    jurisdictions: list[str],
    source: str | None = None,
    citation_prefix: str = "",
    effective_date: str = "",
) -> list[PassageDraft]:
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise IngestionError(
            path,
            f"unsupported file type {path.suffix!r} (supported: {', '.join(SUPPORTED_SUFFIXES)})",
        )
    if not path.is_file():
        raise IngestionError(path, "is not a file")
    options = DocumentOptions(
        jurisdictions=jurisdictions, citation_prefix=citation_prefix, effective_date=effective_date
    )
    return PARSERS[kind](path, options=options, source=source or path.name)
