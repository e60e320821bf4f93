"""What one attempt at an inquiry carries from step to step, and how a step fails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.inquiries.history import History
from assistant.models import Inquiry
from compliance.crypto import ContentKey, DecryptionError
from domains.models import Domain

if TYPE_CHECKING:
    from assistant.backends import Generation
    from assistant.grounding.compose import Delivery
    from assistant.grounding.evidence import Evidence, EvidenceChoice
    from assistant.grounding.verify import Verification
    from assistant.inquiries.pipeline.drafts import DraftPublisher
    from compliance.decisions import ContentDecision, RouteDecision
    from compliance.pii import Screening
    from compliance.policy import Policy
    from domains.selectors import RetrievedPassage

# While an answer is generated, the screened draft is refreshed at most this often.
DRAFT_INTERVAL_SECONDS = 0.3


class StepFailed(Exception):
    """Ends the inquiry in ``failed`` with the step's reason. ``detail`` never quotes content."""

    def __init__(self, reason: Inquiry.FailureReason, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Run:
    """One attempt at a claimed inquiry. Each step reads what the steps before it left here and
    adds its own result; a step that ends the inquiry (refused, nothing to answer from) sets
    ``finished``."""

    inquiry: Inquiry
    key: ContentKey | None = None
    timings: dict[str, int] = field(default_factory=dict)
    step: str = "claim"
    finished: bool = False
    # route
    policy: Policy | None = None
    route: RouteDecision | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    # screen_input
    history: History = field(default_factory=History)
    screening: Screening | None = None
    # decide
    content: ContentDecision | None = None
    # retrieve
    passages: list[RetrievedPassage] = field(default_factory=list)
    nearest: float = 0.0  # the best similarity of any passage, relevant enough or not
    # select_evidence
    evidence: EvidenceChoice | None = None
    missing: list[str] = field(default_factory=list)  # laws the question names, the sources not
    beyond: str | None = None  # what the question asks that no rule states ("now", "proposed")
    # generate
    draft_interval: float = DRAFT_INTERVAL_SECONDS
    messages: list[dict[str, str]] = field(default_factory=list)
    included: list[Evidence] = field(default_factory=list)  # the evidence in the prompt
    drafts: DraftPublisher | None = None
    generation: Generation | None = None
    # verify
    verification: Verification | None = None
    # screen_output
    delivery: Delivery | None = None

    @property
    def domain(self) -> Domain:
        return self.inquiry.domain

    @property
    def question(self) -> str:
        """The question as the model may see it: redacted."""
        return self.screening.text

    @property
    def notice(self) -> str:
        """The policy's notice that only general information is given, if its rule fired."""
        if self.content is not None and self.content.action == "general_only":
            return self.content.rule.text
        return ""

    def open(self) -> None:
        """Unlock the inquiry's content for this attempt."""
        inquiry = self.inquiry
        self.timings["queued_ms"] = round(
            (inquiry.started_at - inquiry.created_at).total_seconds() * 1000
        )
        try:
            self.key = ContentKey.unwrap(inquiry.content_key_wrapped)
        except DecryptionError as exc:
            raise StepFailed(Inquiry.FailureReason.CONTENT_UNREADABLE) from exc

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Record how long the block took as ``timings[name + "_ms"]`` (if it succeeds)."""
        started = time.perf_counter()
        yield
        self.timings[f"{name}_ms"] = round((time.perf_counter() - started) * 1000)
