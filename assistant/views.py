from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from assistant.selectors import domain_jurisdictions, domain_list


@login_required
def ask(request: HttpRequest) -> HttpResponse:
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
