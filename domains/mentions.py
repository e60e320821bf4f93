"""What a domain's corpus mentions (its words, also in order, its abbreviations and cited
rules), for telling a question about a law the sources never name from one they answer. Built
from the passages once per index revision and kept in memory: for the full HIPAA and GDPR texts
it takes about half a second."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.grounding.coverage import CorpusNames, corpus_names
from domains.index import RevisionCache
from domains.models import Domain, Passage


@dataclass(frozen=True)
class LoadedMentions:
    revision: str
    names: CorpusNames


def _open(domain: Domain) -> LoadedMentions:
    rows = Passage.objects.filter(domain=domain).values_list("citation", "title", "text")
    names = corpus_names("\n".join(row) for row in rows.iterator())
    return LoadedMentions(domain.index_revision, names)


_loaded = RevisionCache(_open)


def corpus_mentions(domain: Domain) -> CorpusNames:
    return _loaded.get(domain).names
