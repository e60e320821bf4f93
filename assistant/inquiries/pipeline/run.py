"""The pipeline: claim the inquiry, then run its steps in order. This is the one place that
turns a step's failure into the inquiry's outcome."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from assistant.backends import BackendError
from assistant.inquiries.claims import ClaimLost, inquiry_claim, inquiry_fail, inquiry_release
from assistant.inquiries.pipeline.context import Run, StepFailed
from assistant.inquiries.pipeline.decide import decide
from assistant.inquiries.pipeline.generate import generate
from assistant.inquiries.pipeline.retrieve import retrieve
from assistant.inquiries.pipeline.route import route
from assistant.inquiries.pipeline.screen_input import screen_input
from assistant.inquiries.pipeline.screen_output import screen_output
from assistant.inquiries.pipeline.select_evidence import select_evidence
from assistant.inquiries.pipeline.verify import verify
from assistant.models import Inquiry
from assistant.tracebacks import safe_traceback

logger = logging.getLogger(__name__)

Step = Callable[[Run], None]

STEPS: tuple[Step, ...] = (
    route,
    screen_input,
    decide,
    retrieve,
    select_evidence,
    generate,
    verify,
    screen_output,
)


class RetryLater(Exception):
    """A transient failure: the inquiry went back to the queue for another attempt. Carries no
    content; the task module hands it to Celery's retry."""


def inquiry_run(*, inquiry_id: uuid.UUID) -> None:
    """Run one inquiry through the pipeline, driven by its jurisdiction's policy.

    Idempotent: a second call for the same inquiry (a redelivered task) does nothing once the
    first has claimed it. Every step commits its result with its audit event; no transaction
    stays open while a model runs. Any failure ends the inquiry in ``failed`` with a reason;
    a transient model failure raises ``RetryLater`` until the attempts are used up.
    """
    inquiry = inquiry_claim(inquiry_id=inquiry_id)
    if inquiry is not None:
        steps_run(Run(inquiry), STEPS)


@sensitive_variables("run")
def steps_run(run: Run, steps: Sequence[Step]) -> None:
    """``steps`` in order over ``run`` (of a claimed inquiry), until one finishes the inquiry."""
    inquiry = run.inquiry
    try:
        run.open()
        for step in steps:
            run.step = step.__name__
            step(run)
            if run.finished:
                return
    except ClaimLost:
        logger.warning(
            "inquiry %s: claim lost at step %s; another worker continues", inquiry.id, run.step
        )
    except StepFailed as failure:
        _fail(run, failure.reason, failure.detail)
    except BackendError as exc:
        if exc.permanent or inquiry.attempts >= settings.INQUIRY_MAX_ATTEMPTS:
            _fail(run, Inquiry.FailureReason.MODEL_UNAVAILABLE, str(exc))
            return
        inquiry_release(inquiry, step=run.step, detail=str(exc))
        raise RetryLater(f"inquiry {inquiry.id}: {exc}") from None
    except Exception as exc:
        logger.error("inquiry %s failed at step %s: %s", inquiry.id, run.step, safe_traceback(exc))
        _fail(run, Inquiry.FailureReason.INTERNAL_ERROR)


def _fail(run: Run, reason: Inquiry.FailureReason, detail: str = "") -> None:
    inquiry_fail(
        inquiry_id=run.inquiry.id,
        attempt=run.inquiry.attempts,
        reason=reason,
        step=run.step,
        detail=detail,
    )
