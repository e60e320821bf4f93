from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from assistant.roles import COMPLIANCE_OFFICER, roles_of
from assistant.selectors import domain_jurisdictions, domain_list


@login_required
def ask(request: HttpRequest) -> HttpResponse:
    if roles_of(request.user) == {COMPLIANCE_OFFICER}:
        # An officer asks nothing; their work is the audit trail.
        return redirect("compliance:events")
    domains = [
        {
            "slug": d.slug,
            "name": d.name,
            "jurisdictions": domain_jurisdictions(d),
        }
        for d in domain_list(user=request.user)
    ]
    return render(
        request,
        "portal/ask.html",
        {
            "domains": domains,
            "max_chars": settings.INQUIRY_MAX_QUESTION_CHARS,
        },
    )
