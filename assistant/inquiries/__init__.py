"""An inquiry's life: submitted on the web (``submit``), run by a worker through the compliance
pipeline (``pipeline``, with the claim and lease protocol in ``claims``), its content removed at
the end of retention or when its conversation is deleted.

The public services are re-exported here. The pipeline is not: only the task module imports it,
so the web process never loads the models' libraries.
"""

from assistant.inquiries.claims import (
    ClaimLost,
    inquiries_requeue_stale,
    inquiry_claim,
    inquiry_fail,
)
from assistant.inquiries.conversations import conversation_delete
from assistant.inquiries.retention import inquiries_purge_expired
from assistant.inquiries.submit import (
    IdempotencyConflict,
    PolicyRefused,
    QueueUnavailable,
    inquiry_submit,
    inquiry_submit_once,
)

__all__ = [
    "ClaimLost",
    "IdempotencyConflict",
    "PolicyRefused",
    "QueueUnavailable",
    "conversation_delete",
    "inquiries_purge_expired",
    "inquiries_requeue_stale",
    "inquiry_claim",
    "inquiry_fail",
    "inquiry_submit",
    "inquiry_submit_once",
]
