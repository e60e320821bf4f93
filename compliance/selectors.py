from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet

from compliance.models import AuditEvent

TERMINAL = {
    AuditEvent.Type.INQUIRY_ANSWERED: "answered",
    AuditEvent.Type.INQUIRY_REFUSED: "refused",
    AuditEvent.Type.INQUIRY_FAILED: "failed",
}


def audit_statistics(
    events: QuerySet[AuditEvent], *, first_day: date | None = None, last_day: date | None = None
) -> dict[str, Any]:
    """Inquiries per day by outcome, refusals by category and entity types redacted, from the
    trail itself (so statistics survive the erasure of inquiries). Days between ``first_day`` and
    ``last_day`` without inquiries are listed with zero counts."""
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    refusals: Counter[str] = Counter()
    entities: Counter[str] = Counter()
    wanted = [*TERMINAL, AuditEvent.Type.POLICY_REFUSED, AuditEvent.Type.INQUIRY_SCREENED]
    rows = events.filter(event_type__in=wanted).values_list("created_at", "event_type", "details")
    for created_at, event_type, details in rows.iterator(chunk_size=5000):
        if event_type in TERMINAL:
            per_day[created_at.date().isoformat()][TERMINAL[event_type]] += 1
        if event_type == AuditEvent.Type.INQUIRY_REFUSED:
            refusals[details.get("category") or "unspecified"] += 1
        elif event_type == AuditEvent.Type.POLICY_REFUSED:
            refusals[f"before acceptance: {details.get('reason') or 'unspecified'}"] += 1
        elif event_type == AuditEvent.Type.INQUIRY_SCREENED:
            for entity, count in (details.get("entities") or {}).items():
                entities[entity] += count
    if first_day and last_day and (last_day - first_day).days <= 366:
        for offset in range((last_day - first_day).days + 1):
            per_day[(first_day + timedelta(days=offset)).isoformat()]  # noqa: B018  (fills the day)
    return {
        "per_day": sorted((day, dict(counts)) for day, counts in per_day.items()),
        "refusals": refusals.most_common(),
        "entities": entities.most_common(),
        "totals": {
            outcome: sum(c.get(outcome, 0) for c in per_day.values())
            for outcome in TERMINAL.values()
        },
    }
