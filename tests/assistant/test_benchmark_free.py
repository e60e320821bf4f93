from __future__ import annotations

from dataclasses import dataclass

from assistant.benchmarking.free import build_messages, resolve_citations


@dataclass(frozen=True)
class P:
    source_id: str
    citation: str
    text: str
    title: str = ""
    score: float = 0.5


BREACH = P(
    "b",
    "45 CFR 164.404(b)",
    "A covered entity must notify each affected individual no later than 60 calendar days after discovery of a breach.",
)
MEDIA = P(
    "m",
    "45 CFR 164.406",
    "Breaches involving more than 500 residents of a State require notice to prominent media outlets.",
)
ACCESS = P("a", "45 CFR 164.524(b)(2)", "Access requests must be acted on within 30 calendar days.")


def test_markers_that_point_at_given_passages_become_citations():
    cited = resolve_citations(
        "Notify within 60 days [1]. Media notice applies above 500 [P2].", [BREACH, MEDIA]
    )
    assert cited.grounding == "cited"
    assert [c.passage.source_id for c in cited.citations] == ["b", "m"]
    assert cited.text == "Notify within 60 days [1]. Media notice applies above 500 [2]."


def test_markers_that_point_nowhere_are_removed_and_counted():
    cited = resolve_citations("Notify within 60 days [1] [7].", [BREACH])
    assert cited.text == "Notify within 60 days [1]."
    assert cited.invalid_markers == 1


def test_unmarked_answer_is_attributed_to_the_passage_it_restates():
    cited = resolve_citations(
        "A covered entity must notify affected individuals within 60 calendar days after discovering a breach.",
        [ACCESS, BREACH, MEDIA],
    )
    assert cited.grounding == "attributed"
    assert [c.passage.source_id for c in cited.citations] == ["b"]
    assert cited.citations[0].number == 2


def test_answer_unrelated_to_the_passages_is_unsupported():
    cited = resolve_citations(
        "The device requires a consent form signed by the mother before use.", [BREACH, MEDIA]
    )
    assert cited.grounding == "unsupported"
    assert cited.citations == []


def test_rule_references_missing_from_the_passages_are_flagged():
    cited = resolve_citations(
        "Under 45 CFR 164.404(b) and 45 CFR 164.520 you must notify.", [BREACH]
    )
    assert cited.unverified_references == ["45 CFR 164.520"]


def test_prompt_drops_lowest_ranked_passages_until_it_fits():
    def count_tokens(messages):
        return sum(len(m["content"].split()) for m in messages)

    messages, included = build_messages(
        system_prompt="You help.",
        question="How long?",
        passages=[BREACH, MEDIA, ACCESS],
        count_tokens=count_tokens,
        max_input_tokens=count_tokens([{"content": "x " * 95}]),
    )
    assert included == [BREACH, MEDIA][: len(included)]
    assert len(included) < 3
    assert count_tokens(messages) <= 95
    assert "[1] 45 CFR 164.404(b):" in messages[1]["content"]
    assert messages[1]["content"].endswith("Question: How long?")
