"""How an answer reaches the requester, whichever step ends the inquiry: the delivery's text
between the policy's notice and its disclaimer, its quotes as the citations."""

from __future__ import annotations

from typing import Any

from assistant.grounding.beyond_rules import beyond_rules_lead
from assistant.grounding.compose import Delivery, abstained, with_notice_and_disclaimer
from assistant.grounding.coverage import not_mentioned_lead
from assistant.grounding.offtopic import off_topic, off_topic_lead
from assistant.inquiries.claims import inquiry_finish
from assistant.inquiries.pipeline.context import Run


def deliver(
    run: Run,
    delivery: Delivery,
    *,
    answer_entities: dict[str, int] | None = None,
    screening_details: dict[str, Any] | None = None,
) -> None:
    run.delivery = delivery
    inquiry_finish(
        run.inquiry,
        run.key,
        answer=with_notice_and_disclaimer(run.notice, delivery.text, run.summary["disclaimer"]),
        citations=delivery.citations(),
        grounding=delivery.grounding,
        answer_entities=answer_entities,
        timings=run.timings,
        screening_details=screening_details,
    )
    run.finished = True


def abstention(run: Run, *, grounding: str) -> Delivery:
    """The abstention for this run, with what was searched."""
    searched = f"the {run.domain.name} sources that apply in {run.inquiry.jurisdiction}"
    if off_topic(run.question, run.nearest):
        return abstained(
            searched=searched, grounding=grounding, lead=off_topic_lead(run.domain.name)
        )
    if run.missing:
        return abstained(
            searched=searched, grounding=grounding, lead=not_mentioned_lead(run.missing)
        )
    if run.beyond:
        return abstained(searched=searched, grounding=grounding, lead=beyond_rules_lead(run.beyond))
    return abstained(searched=searched, grounding=grounding)
