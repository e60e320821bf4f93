from __future__ import annotations

import pytest

from domains import index
from domains.ingestion import PassageDraft
from domains.selectors import passages_retrieve
from domains.services import corpus_ingest

BREACH_QUESTION = (
    "How long does a covered entity have to notify individuals of a breach of unsecured PHI?"
)


@pytest.mark.django_db
def test_breach_question_retrieves_the_60_day_rule(catalog_domains):
    passages = passages_retrieve(
        domain=catalog_domains["healthcare"], jurisdiction="US", query=BREACH_QUESTION
    )
    assert "hc-hipaa-164-404-b" in [p.source_id for p in passages]
    assert passages == sorted(passages, key=lambda p: -p.score)


@pytest.mark.django_db
def test_retrieval_only_returns_passages_of_the_requested_jurisdiction(catalog_domains):
    healthcare = catalog_domains["healthcare"]
    eu = passages_retrieve(domain=healthcare, jurisdiction="EU", query=BREACH_QUESTION)
    assert eu, "GDPR breach passages should match"
    assert not any(p.source_id.startswith(("hc-hipaa", "hc-ca")) for p in eu)
    california = passages_retrieve(
        domain=healthcare,
        jurisdiction="US-CA",
        query="report unauthorized access to medical information in California",
    )
    assert any(p.source_id == "hc-ca-hsc-1280-15" for p in california)


@pytest.mark.django_db
def test_workers_pick_up_a_new_index_revision(catalog_domains):
    legal = catalog_domains["legal"]
    first = index.load(legal)
    corpus_ingest(
        domain=legal,
        drafts=[
            PassageDraft(
                "zz-new",
                "Firm Policy 9",
                "Shred paper files after scanning them.",
                ["*"],
                "firm.txt",
            )
        ],
        actor=None,
    )
    legal.refresh_from_db()
    second = index.load(legal)
    assert second is not first
    assert second.index.ntotal == first.index.ntotal + 1
    assert index.index_path(legal).exists()
    hits = passages_retrieve(
        domain=legal, jurisdiction="UK", query="shred paper files after scanning"
    )
    assert hits[0].source_id == "zz-new"
