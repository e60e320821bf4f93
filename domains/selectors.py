from __future__ import annotations

from dataclasses import dataclass

from domains.models import Domain, Passage


@dataclass(frozen=True)
class RetrievedPassage:
    id: int
    source_id: str
    citation: str
    title: str
    text: str
    score: float


def domain_get(*, slug: str) -> Domain | None:
    return Domain.objects.filter(slug=slug, is_active=True).first()


def passages_retrieve(
    *, domain: Domain, jurisdiction: str, query: str
) -> tuple[list[RetrievedPassage], float]:
    """The domain's best passages for ``query`` that apply to ``jurisdiction``, best first,
    above the domain's minimum similarity; and the best similarity of any passage found,
    relevant enough or not (how far the question is from everything the sources say)."""
    # Imported here: the web process never retrieves and need not load faiss or torch.
    from domains import retrieval

    settings = domain.retrieval
    hits = retrieval.search(domain, query, jurisdiction=jurisdiction, k=settings.get("top_k", 4))
    nearest = max((hit.similarity for hit in hits), default=0.0)
    # Fusion ranks; the threshold on the query's similarity to each passage still decides
    # whether a passage is relevant enough to ground an answer.
    hits = [
        (hit.passage_id, hit.similarity)
        for hit in hits
        if hit.similarity >= settings.get("min_score", 0.0)
    ]
    passages = Passage.objects.in_bulk([pk for pk, _ in hits])
    found = [
        RetrievedPassage(
            id=pk,
            source_id=passages[pk].source_id,
            citation=passages[pk].citation,
            title=passages[pk].title,
            text=passages[pk].text,
            score=round(score, 4),
        )
        for pk, score in hits
        if pk in passages
    ]
    return found, nearest
