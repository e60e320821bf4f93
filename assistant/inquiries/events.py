"""The audit event of an inquiry's step: one shape for every step, written by the worker."""

from __future__ import annotations

from typing import Any

from assistant.models import Inquiry
from compliance.models import AuditEvent
from compliance.services import audit_event_record, organization_of


def inquiry_event_record(
    inquiry: Inquiry, event_type: AuditEvent.Type, outcome: AuditEvent.Outcome, **details: Any
) -> None:
    """Record an event of ``inquiry`` made by the service itself (no actor), in the requester's
    organization. Call it inside the transaction of the change it describes."""
    audit_event_record(
        actor=None,
        event_type=event_type,
        outcome=outcome,
        inquiry_id=inquiry.id,
        domain=inquiry.domain.slug,
        jurisdiction=inquiry.jurisdiction,
        organization=organization_of(inquiry.user),
        details=details,
    )
