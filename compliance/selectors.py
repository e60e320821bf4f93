from __future__ import annotations

import uuid

from django.db.models import QuerySet

from compliance.models import AuditEvent


def audit_event_list(*, inquiry_id: uuid.UUID | None = None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if inquiry_id is not None:
        events = events.filter(inquiry_id=inquiry_id)
    return events.order_by("id")
