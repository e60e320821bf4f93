"""The prompt of a grounded answer: the domain's instructions, its worked examples, the numbered
evidence and the question. The model sees nothing else, so it has nothing else to state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from assistant.grounding.evidence import Evidence

ABSTAIN_SENTENCE = "The evidence does not answer this question."

ANSWER_RULES = (
    "Answer from the numbered evidence only. Write one or two short sentences that say what the "
    "evidence says about the question. Copy numbers, durations, amounts and rule references "
    "exactly as the evidence gives them. End each sentence with the number of the evidence it "
    f"comes from, like [1]. If the evidence does not answer the question, write only: "
    f"{ABSTAIN_SENTENCE} Placeholders such as <PERSON_1> stand for redacted personal data: keep "
    "them as they are."
)


def evidence_block(items: Sequence[tuple[str, str]]) -> str:
    """Numbered evidence lines: (citation, text) pairs, numbered from 1."""
    return "\n".join(
        f"[{number}] {citation}: {' '.join(text.split())}"
        for number, (citation, text) in enumerate(items, start=1)
    )


def user_message(evidence: str, question: str, earlier_question: str = "") -> str:
    context = (
        f"Earlier question in this conversation: {earlier_question}\n" if earlier_question else ""
    )
    return f"Evidence:\n{evidence}\n\n{context}Question: {question}"


def grounded_messages(
    *,
    system_prompt: str,
    examples: Sequence[dict[str, Any]],
    evidence: Sequence[Evidence],
    question: str,
    earlier_question: str = "",
    count_tokens: Callable[[list[dict[str, str]]], int],
    max_input_tokens: int,
) -> tuple[list[dict[str, str]], list[Evidence]]:
    """Chat messages and the evidence they include. Worked examples are dropped first and
    lower-ranked evidence after them until the prompt fits ``max_input_tokens``; the best
    evidence is always kept."""
    examples = list(examples)
    included = list(evidence)
    while True:
        turns = []
        for example in examples:
            block = evidence_block([(e["citation"], e["text"]) for e in example["evidence"]])
            turns += [
                {"role": "user", "content": user_message(block, example["question"])},
                {"role": "assistant", "content": example["answer"]},
            ]
        block = evidence_block([(e.citation, e.focus) for e in included])
        messages = [
            {"role": "system", "content": f"{system_prompt.strip()}\n\n{ANSWER_RULES}"},
            *turns,
            {"role": "user", "content": user_message(block, question, earlier_question)},
        ]
        if count_tokens(messages) <= max_input_tokens or (not examples and len(included) == 1):
            return messages, included
        if examples:
            examples.pop()
        else:
            included.pop()
