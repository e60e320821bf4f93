from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from compliance.models import AuditEvent
from domains.ingestion import IngestionError, parse_file
from domains.models import Passage


def test_jsonl_passages_keep_their_ids_and_metadata(tmp_path):
    path = tmp_path / "rules.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "r-1",
                "text": "Keep records five years.",
                "metadata": {
                    "citation": "Rule 1",
                    "jurisdictions": ["UK"],
                    "effective": "2024-01-01",
                },
            }
        )
        + "\n\n"
        + json.dumps({"id": 7, "text": "Second rule."})
        + "\n"
    )
    drafts = parse_file(path, jurisdictions=["*"])
    assert [(d.source_id, d.citation, d.jurisdictions) for d in drafts] == [
        ("r-1", "Rule 1", ["UK"]),
        ("7", "7", ["*"]),
    ]
    assert drafts[0].metadata == {"effective": "2024-01-01"}
    assert drafts[0].source == "rules.jsonl"


@pytest.mark.parametrize(
    ("lines", "line", "problem"),
    [
        (['{"id": "a", "text": "ok"}', '{"id": "b", "text": '], 2, "invalid JSON"),
        (['{"id": "a", "text": "ok"}', '{"id": "a", "text": "again"}'], 2, "duplicate id 'a'"),
        (['{"text": "no id"}'], 1, "'id' must be a non-empty string"),
        (['{"id": "a", "text": "  "}'], 1, "'text' must be a non-empty string"),
        (['["a", "b"]'], 1, "each line must be a JSON object"),
        (
            ['{"id": "a", "text": "t", "metadata": {"jurisdictions": ["MARS"]}}'],
            1,
            "unknown jurisdiction 'MARS'",
        ),
    ],
)
def test_jsonl_errors_name_the_file_and_line(tmp_path, lines, line, problem):
    path = tmp_path / "rules.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestionError) as error:
        parse_file(path, jurisdictions=["*"])
    assert str(error.value).startswith(f"{path}:{line}: {problem}")


def test_markdown_becomes_one_passage_per_section_cited_by_heading(tmp_path):
    path = tmp_path / "policy.md"
    path.write_text(
        "---\njurisdictions: [EU]\n---\n# Retention policy\nIntro text.\n\n## 3.1 Patient records\n"
        "Keep patient records ten years.\n\nDestroy securely.\n\n## 3.2 Logs\nKeep logs one year.\n"
    )
    drafts = parse_file(path, jurisdictions=["*"])
    assert [(d.citation, d.title) for d in drafts] == [
        ("Retention policy", "Retention policy"),
        ("3.1 Patient records", "Retention policy > 3.1 Patient records"),
        ("3.2 Logs", "Retention policy > 3.2 Logs"),
    ]
    assert drafts[1].text == "Keep patient records ten years.\n\nDestroy securely."
    assert all(d.jurisdictions == ["EU"] for d in drafts)
    assert len({d.source_id for d in drafts}) == 3


def test_long_text_is_split_into_bounded_passages(tmp_path):
    path = tmp_path / "notes.txt"
    paragraph = " ".join(["This sentence is about retention periods."] * 20)
    path.write_text("\n\n".join([paragraph] * 6))
    drafts = parse_file(path, jurisdictions=["US"])
    assert len(drafts) >= 3
    assert all(len(d.text) <= 1500 for d in drafts)
    assert drafts[0].citation == "notes.txt, part 1"


def test_unsupported_and_undecodable_files_are_refused_by_name(tmp_path):
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\xff\xfe\x00 broken")
    with pytest.raises(IngestionError, match=r"scan.txt: is not UTF-8 text"):
        parse_file(binary, jurisdictions=["*"])
    with pytest.raises(IngestionError, match=r"unsupported file type '.exe'"):
        parse_file(tmp_path / "tool.exe", jurisdictions=["*"])


def _ingest(*args):
    call_command("ingest", *args, verbosity=0)


@pytest.mark.django_db
def test_ingest_adds_documents_and_is_idempotent(tmp_path, catalog_domains):
    domain = catalog_domains["healthcare"]
    before = domain.passages.count()
    doc = tmp_path / "hospital-policy.md"
    doc.write_text(
        "# Breach escalation\nReport suspected breaches to the privacy office within one hour.\n"
    )
    _ingest("--domain", "healthcare", "--jurisdiction", "US", str(doc))
    domain.refresh_from_db()
    revision = domain.index_revision
    assert domain.passages.count() == before + 1
    passage = domain.passages.get(source="hospital-policy.md")
    assert passage.jurisdictions == ["US"]
    assert AuditEvent.objects.filter(
        event_type=AuditEvent.Type.CORPUS_INGESTED, domain="healthcare"
    ).exists()

    _ingest("--domain", "healthcare", "--jurisdiction", "US", str(doc))
    domain.refresh_from_db()
    assert domain.index_revision == revision
    assert domain.passages.count() == before + 1


@pytest.mark.django_db
def test_a_changed_document_replaces_its_old_passages(tmp_path, catalog_domains):
    doc = tmp_path / "policy.md"
    doc.write_text("# Old rule\nOld text.\n\n# Kept rule\nKept text.\n")
    _ingest("--domain", "legal", str(doc))
    doc.write_text("# New rule\nNew text.\n\n# Kept rule\nKept text.\n")
    _ingest("--domain", "legal", str(doc))
    citations = set(
        Passage.objects.filter(domain__slug="legal", source="policy.md").values_list(
            "citation", flat=True
        )
    )
    assert citations == {"New rule", "Kept rule"}


@pytest.mark.django_db
def test_a_broken_file_is_reported_with_its_line_and_the_rest_is_ingested(
    tmp_path, catalog_domains
):
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "good-1", "text": "A good passage."}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "bad-1", "text": "fine"}\n{"id": \n')
    with pytest.raises(CommandError) as error:
        _ingest("--domain", "finance", str(good), str(bad))
    assert f"{bad}:2: invalid JSON" in str(error.value)
    assert Passage.objects.filter(domain__slug="finance", source_id="good-1").exists()
    assert not Passage.objects.filter(domain__slug="finance", source_id="bad-1").exists()


@pytest.mark.django_db
def test_ingest_refuses_an_unknown_domain_or_jurisdiction(tmp_path, catalog_domains):
    doc = tmp_path / "a.txt"
    doc.write_text("text")
    with pytest.raises(CommandError, match="unknown domain 'astrology'"):
        _ingest("--domain", "astrology", str(doc))
    with pytest.raises(CommandError, match="unknown jurisdiction 'XX'"):
        _ingest("--domain", "legal", "--jurisdiction", "XX", str(doc))
