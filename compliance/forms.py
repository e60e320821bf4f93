from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator
from django.db.models import Q, QuerySet
from django.utils import timezone

from compliance.models import AuditEvent

# The day after "To" bounds the search, and must still be a date with room for a time zone.
LAST_DAY = date.max - timedelta(days=2)
date_in_range = MaxValueValidator(LAST_DAY, f"Dates go up to {LAST_DAY.isoformat()}.")


class AuditFilterForm(forms.Form):
    """The officer's search: every field optional, all combined with AND."""

    date_from = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput({"type": "date"}),
        validators=[date_in_range],
    )
    date_to = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput({"type": "date"}),
        validators=[date_in_range],
    )
    user = forms.CharField(required=False, max_length=150, label="User")
    organization = forms.ChoiceField(required=False, label="Organization")
    domain = forms.ChoiceField(required=False, label="Domain")
    jurisdiction = forms.ChoiceField(required=False, label="Jurisdiction")
    event_type = forms.ChoiceField(
        required=False, label="Event type", choices=[("", "Any")] + AuditEvent.Type.choices
    )
    outcome = forms.ChoiceField(
        required=False, label="Outcome", choices=[("", "Any")] + AuditEvent.Outcome.choices
    )
    inquiry = forms.UUIDField(required=False, label="Inquiry id")

    def __init__(self, *args: Any, events: QuerySet[AuditEvent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer what occurs in the trail the viewer may see, so every option finds something.
        for name in ("organization", "domain", "jurisdiction"):
            values = events.exclude(**{name: ""}).order_by(name).values_list(name, flat=True)
            self.fields[name].choices = [("", "Any")] + [(v, v) for v in values.distinct()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("'From' must be on or before 'To'.", code="date_range")
        return data

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        if data.get("date_from"):
            events = events.filter(created_at__gte=datetime.combine(data["date_from"], time(), tz))
        if data.get("date_to"):
            end = datetime.combine(data["date_to"] + timedelta(days=1), time(), tz)
            events = events.filter(created_at__lt=end)
        if data.get("user"):
            events = events.filter(actor_label__iexact=data["user"])
        for name in ("organization", "domain", "jurisdiction", "event_type", "outcome"):
            if data.get(name):
                events = events.filter(**{name: data[name]})
        if data.get("inquiry"):
            events = events.filter(inquiry_id=data["inquiry"])
        return events

    def description(self) -> dict[str, str]:
        """The filter as applied, for an export's manifest and its audit event."""
        return {k: str(v) for k, v in self.cleaned_data.items() if v not in (None, "")}


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [str(e) for e in errors] for field, errors in form.errors.items()}


class RevealForm(forms.Form):
    reason = forms.CharField(
        min_length=15,
        max_length=500,
        widget=forms.Textarea({"rows": 3}),
        help_text="Why you need to read this content (a case or complaint reference). "
        "The reason is recorded in the audit trail.",
    )


def scope_q(organization: str | None) -> Q:
    """What an officer may see: their organization's events and the platform's own (no
    organization). ``None`` (an officer of the operator, with no organization) sees all."""
    if organization is None:
        return Q()
    return Q(organization=organization) | Q(organization="")
