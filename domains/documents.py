"""Regulatory documents (PDF, HTML, DOCX, Markdown, plain text) into passages that keep each
regulatory unit together and carry its citation label (``45 CFR 164.404(b)``,
``GDPR Art. 33(1)``).

Each format is first read into blocks: headings and paragraphs in reading order. One structurer
then finds the units (articles, sections, recitals, rules) and their numbered paragraphs, for
every format alike.
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_CHUNK_CHARS = 1500
# A DOCX is a zip: what it expands to, not its size, is what the parser holds in memory.
DOCX_MAX_EXPANDED_BYTES = 200 * 1024 * 1024


class DocumentError(Exception):
    """The file cannot be read as the format its name says; the message says why."""


@dataclass(frozen=True)
class Block:
    text: str
    level: int = 0  # 1-6 for a heading, 0 for body text


@dataclass(frozen=True)
class Unit:
    citation: str
    title: str
    text: str
    anchor: str  # stable within the document, for the passage id


# --- readers ------------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def read_markdown(text: str) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(" ".join(paragraph)))
            paragraph.clear()

    for raw in text.splitlines():
        heading = _MD_HEADING.match(raw)
        if heading:
            flush()
            blocks.append(Block(_clean(heading.group(2)), len(heading.group(1))))
            continue
        line = re.sub(r"^(\s*>\s*)+", "", raw)  # nesting by quote markers: the markers go
        line = _clean(line)
        if not line:
            flush()
        elif _starts_paragraph(line):
            flush()
            paragraph.append(line)
        else:
            paragraph.append(line)
    flush()
    return blocks


def read_text(text: str) -> list[Block]:
    blocks = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [_clean(line) for line in chunk.splitlines() if line.strip()]
        blocks += _lines_to_blocks(lines)
    return blocks


def read_html(data: bytes) -> tuple[list[Block], str]:
    """The blocks, and the document's title (its first h1, else its <title>)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for noise in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        noise.decompose()
    wanted = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "dd", "dt"]
    blocks = []
    for element in soup.find_all(wanted):
        if element.find(wanted):  # its own blocks come separately
            continue
        text = _clean(element.get_text(" ", strip=True))
        if not text:
            continue
        level = int(element.name[1]) if element.name[0] == "h" and element.name[1:].isdigit() else 0
        parent = element.parent
        if element.name == "li" and parent is not None and parent.name == "ol":
            # An ordered list numbers its items implicitly (recitals, enumerated points).
            siblings = parent.find_all("li", recursive=False)
            start = int(parent.get("start", 1)) if str(parent.get("start", 1)).isdigit() else 1
            number = element.get("value") or start + siblings.index(element)
            if not _starts_paragraph(text):
                text = f"({number}) {text}"
        blocks.append(Block(text, level))
    heading = soup.find("h1")
    title = heading if heading is not None else soup.title
    title_text = _clean(title.get_text(" ", strip=True)) if title is not None else ""
    if not blocks and not (soup.title and soup.title.get_text(strip=True)):
        raise DocumentError("contains no text (is it an HTML document?)")
    return blocks, title_text


def read_pdf(path: Path) -> list[Block]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise DocumentError("is an encrypted PDF; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"is not a readable PDF ({exc})") from None
    text = "\n".join(pages)
    if not text.strip():
        raise DocumentError("has no extractable text (a scanned PDF needs OCR first)")
    blocks = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [_clean(line) for line in chunk.splitlines()]
        # Page furniture: bare page numbers.
        lines = [
            line for line in lines if line and not re.fullmatch(r"(page\s*)?\d{1,4}", line, re.I)
        ]
        blocks += _lines_to_blocks(lines)
    return blocks


def _docx_expanded_size_check(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise DocumentError(f"is not a readable DOCX document ({exc})") from None
    if expanded > DOCX_MAX_EXPANDED_BYTES:
        raise DocumentError(
            f"expands to {expanded // (1024 * 1024)} MB, more than the "
            f"{DOCX_MAX_EXPANDED_BYTES // (1024 * 1024)} MB a DOCX document may"
        )


def read_docx(path: Path) -> list[Block]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import LxmlError

    _docx_expanded_size_check(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, LxmlError) as exc:
        raise DocumentError(
            f"is not a readable DOCX document ({exc or type(exc).__name__})"
        ) from None
    blocks = []
    for paragraph in document.paragraphs:
        text = _clean(paragraph.text)
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = 0
        if style == "Title":
            level = 1
        elif style.startswith("Heading"):
            digits = style.removeprefix("Heading").strip()
            level = int(digits) if digits.isdigit() else 1
        blocks.append(Block(text, level) if level else _lines_to_blocks([text])[0])
    return blocks


def _clean(text: str) -> str:
    text = html.unescape(text)
    text = _MD_LINK.sub(r"\1", text)
    text = text.replace("\u00a0", " ").replace("**", "").replace("__", "")
    return " ".join(text.split())


def _lines_to_blocks(lines: list[str]) -> list[Block]:
    """Lines of extracted text: a unit heading or a numbered paragraph starts a new block,
    other lines continue the current one."""
    blocks: list[Block] = []
    current: list[str] = []
    for line in lines:
        if _unit(line) is not None or _starts_paragraph(line):
            if current:
                blocks.append(Block(" ".join(current)))
            current = []
            if _unit(line) is not None and len(line) < 200:
                blocks.append(Block(line, 3))
                continue
        current.append(line)
    if current:
        blocks.append(Block(" ".join(current)))
    return blocks


# --- structure ----------------------------------------------------------------------------------

_UNITS = [
    ("article", re.compile(r"^Article\s+(\d+[a-z]?)\b[.:]?\s*[-–—]?\s*(.*)$", re.I)),
    (
        "section",
        re.compile(r"^(?:§+|Section|Sec\.)\s*(\d+(?:\.\d+)*[a-z]?)\b[.:]?\s*[-–—]?\s*(.*)$", re.I),
    ),
    ("rule", re.compile(r"^Rule\s+(\d+(?:\.\d+)+)\b[.:]?\s*(.*)$", re.I)),
    ("recital", re.compile(r"^Recital\s+(\d+)\b[.:]?\s*(.*)$", re.I)),
]
_PARAGRAPH = re.compile(r"^(?:\((?P<paren>[a-zA-Z]{1,4}|\d{1,3})\)|(?P<num>\d{1,3})\.)(?:\s+|$)")
_ROMAN = re.compile(r"^(?=[ivxlc]+$)m{0,3}(c[md]|d?c{0,3})(x[cl]|l?x{0,3})(i[xv]|v?i{0,3})$")


def _unit(text: str) -> tuple[str, str, str] | None:
    for kind, pattern in _UNITS:
        match = pattern.match(text)
        if match:
            return kind, match.group(1), match.group(2).strip()
    return None


def _starts_paragraph(text: str) -> bool:
    return _PARAGRAPH.match(text) is not None


def _marker(text: str) -> tuple[str, str] | None:
    """The paragraph marker of a block and its numbering style."""
    match = _PARAGRAPH.match(text)
    if match is None:
        return None
    if match.group("num"):
        return "number-dot", match.group("num")
    value = match.group("paren")
    if value.isdigit():
        return "paren-digit", value
    if value.isupper():
        return "paren-upper", value
    if len(value) > 1 and _ROMAN.match(value):
        return "paren-roman", value
    return "paren-lower", value


def _label(prefix: str, kind: str, number: str, paragraph: str = "") -> str:
    paragraph_part = f"({paragraph})" if paragraph else ""
    if kind == "article":
        core = f"Art. {number}{paragraph_part}"
    elif kind == "recital":
        core = f"Recital {number}"
    elif kind == "rule":
        core = f"Rule {number}{paragraph_part}"
    elif prefix.upper().endswith(("CFR", "U.S.C.", "USC")):
        core = f"{number}{paragraph_part}"  # 45 CFR 164.404(b): the section sign is implied
    else:
        core = f"§ {number}{paragraph_part}"
    return f"{prefix} {core}".strip()


def structure(
    blocks: list[Block], *, prefix: str, fallback_unit: tuple[str, str, str] | None, name: str
) -> list[Unit]:
    """Group blocks into passages: one per numbered paragraph of a unit (its sub-paragraphs
    stay with it), or one per unit without numbered paragraphs; long ones are split at
    sub-paragraph boundaries. ``fallback_unit`` is the unit of a document whose text has no
    unit heading (a file per section)."""
    units: list[Unit] = []
    trail: list[str] = []  # headings above the current unit
    unit = fallback_unit
    unit_title = fallback_unit[2] if fallback_unit else ""
    top_style: str | None = None
    top_number = ""
    parts: list[str] = []
    seen_numbers: set[str] = set()
    in_recitals = False

    def flush() -> None:
        nonlocal parts
        if not parts:
            return
        if unit is not None:
            citation = _label(prefix, unit[0], unit[1], top_number)
            anchor = f"{unit[0]}-{unit[1]}" + (f"-{top_number}" if top_number else "")
        elif in_recitals and top_number:
            citation = _label(prefix, "recital", top_number)
            anchor = f"recital-{top_number}"
        else:
            heading = trail[-1] if trail else name
            citation = f"{prefix} {heading}".strip() if prefix and heading != name else heading
            anchor = _slug(heading) + (f"-{top_number}" if top_number else "")
        title = " > ".join([*trail, unit_title] if unit_title else trail)
        for number, chunk in enumerate(pack(parts), start=1):
            sub = _marker(chunk) if number > 1 else None
            label = f"{citation}({sub[1]})" if sub else f"{citation}, part {number}"
            units.append(
                Unit(
                    citation=citation if number == 1 else label,
                    title=title[:300],
                    text=chunk,
                    anchor=anchor if number == 1 else f"{anchor}-part-{number}",
                )
            )
        parts = []

    for block in blocks:
        found = _unit(block.text) if (block.level or len(block.text) < 200) else None
        if found is not None and (block.level or not _starts_paragraph(block.text)):
            flush()
            kind, number, title = found
            unit, unit_title, top_style, top_number = (kind, number, title), title, None, ""
            seen_numbers.clear()
            in_recitals = False
            continue
        if block.level:
            flush()
            unit = None if fallback_unit is None else unit
            unit_title = "" if fallback_unit is None else unit_title
            trail = trail[: block.level - 1] + [block.text]
            top_style, top_number = None, ""
            seen_numbers.clear()
            in_recitals = block.text.strip().lower().startswith("recitals")
            continue
        marker = _marker(block.text)
        if (
            marker is not None
            and marker[0] == top_style == "paren-lower"
            and marker[1] in ("i", "v", "x")
            and top_number != chr(ord(marker[1]) - 1)
        ):
            marker = ("paren-roman", marker[1])  # (i) under (d)(1), not the paragraph after (h)
        if marker is not None and marker[0] == top_style and marker[1] in seen_numbers:
            marker = None  # numbering restarted: a list inside a paragraph, not the unit's own
        if marker is not None and (top_style is None or marker[0] == top_style):
            flush()
            top_style, top_number = marker
            seen_numbers.add(top_number)
        parts.append(block.text)
    flush()
    return units


def pack(parts: list[str], limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Group parts (paragraphs) into chunks of at most ``limit`` characters, joined by blank
    lines, never splitting a part unless it alone is longer than the limit: then at sentence
    ends, and a sentence longer than the limit at the limit."""
    pieces: list[str] = []
    for part in parts:
        if len(part) <= limit:
            pieces.append(part)
            continue
        run = ""
        for sentence in re.split(r"(?<=[.;:])\s+", part):
            while len(sentence) > limit:
                if run:
                    pieces.append(run)
                    run = ""
                pieces.append(sentence[:limit])
                sentence = sentence[limit:].strip()
            if run and len(run) + 1 + len(sentence) > limit:
                pieces.append(run)
                run = ""
            run = f"{run} {sentence}".strip()
        if run:
            pieces.append(run)
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{piece}".strip()
    if current:
        chunks.append(current)
    return chunks


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "section"


_SECTION_FILE = re.compile(r"^(\d{2,4})-(\d{1,4}[a-z]?)(?:-(.*))?$")


def unit_from_file_name(stem: str) -> tuple[str, str, str] | None:
    """``164-404-notification-individuals`` (a file per CFR section) -> § 164.404."""
    match = _SECTION_FILE.match(stem)
    if match is None:
        return None
    title = (match.group(3) or "").replace("-", " ").strip().capitalize()
    return "section", f"{match.group(1)}.{match.group(2)}", title


def title_abbreviation(title: str) -> str:
    """``General Data Protection Regulation (GDPR)`` -> ``GDPR``."""
    match = re.search(r"\(([A-Z][A-Za-z0-9&.\- ]{1,15})\)\s*$", title)
    return match.group(1) if match else ""
