"""Whether a question the sources do not answer is about these rules at all. "x?", "hello" or
"Tell me a joke" get a reply that says so, rather than the abstention a real rules question
gets ("the sources do not answer this") or, as before the refusal rules needed a minimum
similarity to their examples, a re-identification refusal. The check reads the redacted
question: "What is the capital of Mongolia?" becomes "... of <LOCATION_1>?", which comes near
enough to the sources to get the ordinary abstention.

Only the wording of an abstention changes: a question is never refused or left unanswered
for looking off-topic."""

from __future__ import annotations

import re

# Fewer words than this (of three letters or more) is no question: "x?", "12345", "hello".
MIN_WORDS = 2
# Below this cosine similarity to every passage found, the question is about something else.
# Of 280 rules questions (the dev set, and a training set of our own over the starter corpora),
# the farthest was at 0.158; of twelve off-topic inputs, nine were below 0.12.
MAX_SIMILARITY = 0.12


def off_topic(question: str, nearest: float) -> bool:
    """``nearest``: the best similarity of the question to any passage of the domain."""
    return len(re.findall(r"[^\W\d_]{3,}", question)) < MIN_WORDS or nearest < MAX_SIMILARITY


def off_topic_lead(domain_name: str) -> str:
    return (
        f"This does not look like a question about the rules in the {domain_name} sources, "
        "so there is nothing to answer from them. Ask what those rules require, allow or forbid."
    )
