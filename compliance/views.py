"""The compliance officer's UI: the audit trail, an inquiry's decision trace, statistics,
verification and export. Only compliance officers reach it; every refusal is audited."""

from __future__ import annotations

import tempfile
import uuid
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assistant.authorization import authorize_officer
from assistant.models import Inquiry
from assistant.selectors import inquiry_content
from compliance import charts
from compliance.forms import AuditFilterForm, RevealForm, scope_q
from compliance.models import AuditEvent
from compliance.selectors import audit_statistics
from compliance.services import (
    audit_event_record,
    audit_export,
    audit_verification_last,
    audit_verify,
    organization_of,
)
from compliance.signing import SigningKeyError

PAGE_SIZE = 50


def officer_required(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            authorize_officer(request.user, path=request.path)
        except PermissionDenied:
            return render(request, "compliance/denied.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _officer_organization(request: HttpRequest) -> str | None:
    """The officer's organization, or None for an officer of the operator (no organization)."""
    return organization_of(request.user) or None


def _visible(request: HttpRequest):
    return AuditEvent.objects.filter(scope_q(_officer_organization(request)))


def _status() -> dict[str, Any] | None:
    event = audit_verification_last()
    if event is None:
        return None
    return {"at": event.created_at, "by": event.actor_label, **event.details}


@officer_required
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    visible = _visible(request)
    form = AuditFilterForm(request.GET or None, events=visible)
    page = None
    status = 200
    if not request.GET or form.is_valid():
        selected = form.apply(visible) if request.GET else visible
        selected = selected.order_by("-seq")
        page = Paginator(selected, PAGE_SIZE).get_page(request.GET.get("page"))
    else:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "compliance/events.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "verification": _status(),
            "section": "events",
        },
        status=status,
    )


@officer_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    try:
        report = audit_verify(actor=request.user)
    except SigningKeyError as exc:
        messages.error(request, f"Verification could not run: {exc}")
    else:
        if report.ok:
            messages.success(request, report.summary())
        else:
            messages.error(request, report.summary())
    return redirect("compliance:events")


@officer_required
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    visible = _visible(request)
    form = AuditFilterForm(request.POST, events=visible)
    if not form.is_valid():
        return render(
            request,
            "compliance/events.html",
            {"form": form, "page": None, "verification": _status(), "section": "events"},
            status=400,
        )
    bundle = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it)
    audit_export(
        actor=request.user,
        events=form.apply(visible),
        description=form.description(),
        output=bundle,
    )
    bundle.seek(0)
    name = f"audit-export-{timezone.now():%Y%m%dT%H%M%SZ}.zip"
    return FileResponse(bundle, as_attachment=True, filename=name, content_type="application/zip")


def _trace_inquiry(request: HttpRequest, inquiry_id: uuid.UUID) -> Inquiry | None:
    inquiry = Inquiry.objects.select_related("domain", "user").filter(pk=inquiry_id).first()
    officer_org = _officer_organization(request)
    if inquiry is not None and officer_org not in (None, organization_of(inquiry.user)):
        return None
    return inquiry


@officer_required
@require_http_methods(["GET", "POST"])
def trace(request: HttpRequest, inquiry_id: uuid.UUID) -> HttpResponse:
    trail = list(_visible(request).filter(inquiry_id=inquiry_id).order_by("seq"))
    inquiry = _trace_inquiry(request, inquiry_id)
    if not trail and inquiry is None:
        raise Http404("No such inquiry in your organization's trail.")
    decision = inquiry.policy_decision if inquiry else {}
    may_reveal = bool(inquiry and decision.get("officers_may_reveal_content"))
    purged = bool(inquiry and not inquiry.content_key_wrapped)
    form = RevealForm(request.POST or None)
    revealed = None
    status = 200
    if request.method == "POST":
        revealed, status = _reveal(request, inquiry, form, may_reveal=may_reveal, purged=purged)
        if revealed is not None:
            trail = list(_visible(request).filter(inquiry_id=inquiry_id).order_by("seq"))
    return render(
        request,
        "compliance/trace.html",
        {
            "inquiry_id": inquiry_id,
            "inquiry": inquiry,
            "trail": trail,
            "decision": decision,
            "may_reveal": may_reveal,
            "purged": purged,
            "form": form,
            "revealed": revealed,
        },
        status=status,
    )


def _reveal(
    request: HttpRequest,
    inquiry: Inquiry | None,
    form: RevealForm,
    *,
    may_reveal: bool,
    purged: bool,
) -> tuple[dict[str, Any] | None, int]:
    if inquiry is None or not may_reveal or purged:
        reason = "purged" if purged else "policy_forbids" if inquiry else "inquiry_erased"
        audit_event_record(
            actor=request.user,
            event_type=AuditEvent.Type.ACCESS_DENIED,
            outcome=AuditEvent.Outcome.DENIED,
            inquiry_id=inquiry.id if inquiry else None,
            details={"action": "content.reveal", "reason": reason},
        )
        messages.error(request, "This content cannot be revealed (see the policy note).")
        return None, 403
    if not form.is_valid():
        return None, 400
    # Imported here: Presidio loads spaCy and torch, which a web process needs only for this.
    from compliance import pii

    try:
        # The reason goes into the trail, so personal data in it is redacted first; if that
        # cannot be done, nothing is revealed.
        screened = pii.screen_output(form.cleaned_data["reason"])
    except pii.PiiDetectionError:
        messages.error(request, "The reason could not be screened for personal data; try again.")
        return None, 503
    with transaction.atomic():
        audit_event_record(
            actor=request.user,
            event_type=AuditEvent.Type.CONTENT_REVEALED,
            outcome=AuditEvent.Outcome.SUCCESS,
            inquiry_id=inquiry.id,
            domain=inquiry.domain.slug,
            jurisdiction=inquiry.jurisdiction,
            organization=organization_of(inquiry.user),
            details={
                "reason": screened.text,
                "reason_entities": screened.counts,
                "policy_id": inquiry.policy_id,
                "policy_version": inquiry.policy_version,
                "fields": ["redacted_question", "answer"],
            },
        )
    return inquiry_content(inquiry, viewer=request.user, restore=False), 200


@officer_required
@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    visible = _visible(request)
    data = request.GET.copy()
    if not data.get("date_from"):
        data["date_from"] = (timezone.localdate() - timedelta(days=29)).isoformat()
    form = AuditFilterForm(data, events=visible)
    stats = None
    status = 200
    if form.is_valid():
        stats = audit_statistics(
            form.apply(visible),
            first_day=form.cleaned_data["date_from"],
            last_day=form.cleaned_data["date_to"] or timezone.localdate(),
        )
        stats["charts"] = {
            "per_day": charts.stacked_daily_chart(stats["per_day"], title="Inquiries per day"),
            "refusals": charts.bar_chart(
                stats["refusals"], title="Refusals by category", colour="#b7791f"
            ),
            "entities": charts.bar_chart(stats["entities"], title="Entity types redacted"),
        }
    else:
        status = 400
    return render(
        request,
        "compliance/stats.html",
        {"form": form, "stats": stats, "section": "statistics"},
        status=status,
    )
