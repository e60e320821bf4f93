from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from compliance.models import AuditEvent


@transaction.atomic
def audit_event_record(
    *,
    actor: AbstractBaseUser | None,
    event_type: AuditEvent.Type,
    outcome: AuditEvent.Outcome,
    inquiry_id: uuid.UUID | None = None,
    domain: str = "",
    jurisdiction: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``actor=None`` means the system (a worker, a command).

    Call it inside the transaction of the change it describes, so that the change and its
    record commit or roll back together.
    """
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        event_type=event_type,
        outcome=outcome,
        inquiry_id=inquiry_id,
        domain=domain,
        jurisdiction=jurisdiction,
        details=details or {},
    )
