"""Regulatory documents in every format become passages with correct citation labels."""

from __future__ import annotations

import shutil

import pytest
from django.core.management import CommandError, call_command

from domains.ingestion import IngestionError, parse_file
from domains.models import Passage
from tests.conftest import SHARED_DATA
from tests.domains.documents_fixtures import write_docx, write_pdf

HIPAA = SHARED_DATA / "hipaa"
GDPR = SHARED_DATA / "gdpr"


def by_citation(drafts):
    return {d.citation: d for d in drafts}


@pytest.mark.parametrize(
    ("file", "citation", "phrase"),
    [
        ("164-404-notification-individuals.md", "45 CFR 164.404(b)", "60 calendar days"),
        (
            "164-404-notification-individuals.md",
            "45 CFR 164.404(c)",
            "brief description of what happened",
        ),
        ("164-408-notification-secretary.md", "45 CFR 164.408(b)", "500 or more individuals"),
        (
            "164-502-uses-disclosures-general.md",
            "45 CFR 164.502(b)",
            "minimum necessary",
        ),
        (
            "164-308-administrative-safeguards.md",
            "45 CFR 164.308(a)",
            "Security management process",
        ),
        ("164-312-technical-safeguards.md", "45 CFR 164.312(b)", "Audit controls"),
        ("160-101-statutory-basis-purpose.md", "45 CFR 160.101", "Social Security Act"),
    ],
)
def test_hipaa_sections_are_cited_by_section_and_paragraph(file, citation, phrase):
    path = HIPAA / file
    if not path.exists():
        pytest.fail(f"{path} is missing from the shared data")
    drafts = by_citation(parse_file(path, jurisdictions=["US"], citation_prefix="45 CFR"))
    assert citation in drafts, sorted(drafts)
    assert phrase.lower() in drafts[citation].text.lower()


def test_the_whole_hipaa_text_ingests_with_unique_ids_and_cfr_labels():
    drafts = []
    for path in sorted(HIPAA.glob("*.md")):
        drafts += parse_file(path, jurisdictions=["US"], citation_prefix="45 CFR")
    assert len(drafts) > 400
    assert len({d.source_id for d in drafts}) == len(drafts)
    assert all(d.citation.startswith("45 CFR 16") for d in drafts)
    assert all(len(d.text) <= 1500 for d in drafts)


def test_gdpr_articles_and_recitals_are_cited_by_number():
    drafts = parse_file(GDPR / "gdpr.html", jurisdictions=["EU"])
    cited = by_citation(drafts)
    assert "72 hours" in cited["GDPR Art. 33(1)"].text
    assert cited["GDPR Art. 33(3)"].text.count("(a)") == 1  # points stay with their paragraph
    assert "without undue delay" in cited["GDPR Art. 17(1)"].text
    assert "fundamental right" in cited["GDPR Recital 1"].text
    assert cited["GDPR Art. 33(1)"].title.endswith(
        "Notification of a personal data breach to the supervisory authority"
    )
    articles = {d.citation.split("(")[0] for d in drafts if " Art. " in d.citation}
    assert articles == {f"GDPR Art. {n}" for n in range(1, 100)}
    recitals = {d.citation.split(",")[0] for d in drafts if " Recital " in d.citation}
    assert recitals == {f"GDPR Recital {n}" for n in range(1, 174)}


def test_pdf_units_and_paragraphs(tmp_path):
    path = write_pdf(
        tmp_path / "retention-rules.pdf",
        [
            "Article 5 Retention of records",
            "1. A firm shall keep records for six years.",
            "2. Records shall be kept in a durable medium:",
            "(a) that cannot be altered;",
            "(b) that can be reproduced on paper.",
            "Article 6 Destruction",
            "Records past their period shall be destroyed securely.",
        ],
    )
    drafts = parse_file(
        path, jurisdictions=["EU"], citation_prefix="Firm Rules", effective_date="2026-01-01"
    )
    assert [d.citation for d in drafts] == [
        "Firm Rules Art. 5(1)",
        "Firm Rules Art. 5(2)",
        "Firm Rules Art. 6",
    ]
    assert "cannot be altered" in drafts[1].text and "reproduced on paper" in drafts[1].text
    assert drafts[0].metadata == {
        "source_file": "retention-rules.pdf",
        "effective_date": "2026-01-01",
    }


def test_docx_headings_and_sections(tmp_path):
    path = write_docx(
        tmp_path / "handbook.docx",
        [
            ("Client money handbook", 1),
            ("Section 4.2 Reconciliation", 2),
            ("(a) Reconcile client accounts daily.", 0),
            ("(b) Report differences to the compliance officer.", 0),
            ("Glossary", 2),
            ("Client money means money held for a client.", 0),
        ],
    )
    drafts = parse_file(path, jurisdictions=["UK"])
    assert [(d.citation, d.text[:3]) for d in drafts] == [
        ("§ 4.2(a)", "(a)"),
        ("§ 4.2(b)", "(b)"),
        ("Glossary", "Cli"),
    ]
    assert drafts[0].title == "Client money handbook > Reconciliation"


def test_html_without_units_is_cited_by_heading(tmp_path):
    path = tmp_path / "intranet.html"
    path.write_text(
        "<html><head><title>Privacy notes</title><script>var x = 1;</script></head><body>"
        "<h1>Privacy notes</h1><h2>Consent</h2><p>Ask before recording a call.</p>"
        "<ol><li>Say why.</li><li>Say for how long.</li></ol></body></html>"
    )
    drafts = parse_file(path, jurisdictions=["US"])
    assert drafts[0].citation == "Consent"
    assert "var x" not in drafts[0].text
    assert "(1) Say why." in "\n".join(d.text for d in drafts)


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "is not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", "is not a readable DOCX document"),
        ("empty.pdf", None, "has no extractable text"),
    ],
)
def test_corrupt_documents_are_refused_by_name(tmp_path, name, data, problem):
    path = tmp_path / name
    if data is None:
        write_pdf(path, [])
    else:
        path.write_bytes(data)
    with pytest.raises(IngestionError, match=rf"{name}: {problem}"):
        parse_file(path, jurisdictions=["*"])


@pytest.mark.django_db
def test_a_corrupt_file_in_a_batch_is_named_and_the_rest_ingested(tmp_path, catalog_domains):
    good = write_docx(
        tmp_path / "good.docx", [("Article 9 Escalation", 2), ("Escalate within an hour.", 0)]
    )
    shutil.copy(HIPAA / "164-404-notification-individuals.md", tmp_path)
    (tmp_path / "scan.pdf").write_bytes(b"garbage")
    with pytest.raises(CommandError) as failure:
        call_command(
            "ingest",
            "--domain",
            "healthcare",
            "--citation-prefix",
            "45 CFR",
            str(tmp_path),
            verbosity=0,
        )
    assert "scan.pdf: is not a readable PDF" in str(failure.value)
    assert "1 of 3 files could not be ingested" in str(failure.value)
    stored = set(
        Passage.objects.filter(domain__slug="healthcare").values_list("citation", flat=True)
    )
    assert {"45 CFR 164.404(b)", "45 CFR Art. 9"} <= stored
    assert good.exists()
