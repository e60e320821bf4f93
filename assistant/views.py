"""The portal: professionals ask questions in conversations and read the answers with their
sources, what was redacted and which rules applied. Asking and streaming go through the API
(see templates/portal/ask.html); these views render pages and delete conversations."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from assistant.inquiries import conversation_delete
from assistant.roles import COMPLIANCE_OFFICER, roles_of
from assistant.selectors import (
    conversation_get,
    conversation_summaries,
    conversations_of,
    domain_jurisdictions,
    domain_list,
    inquiry_payload,
)

HISTORY_LENGTH = 50


@login_required
def ask(request: HttpRequest, conversation_id: uuid.UUID | None = None) -> HttpResponse:
    if roles_of(request.user) == {COMPLIANCE_OFFICER}:
        # An officer asks nothing; their work is the audit trail.
        return redirect("compliance:events")
    conversation = turns = None
    if conversation_id is not None:
        conversation = conversation_get(user=request.user, conversation_id=conversation_id)
        turns = [
            {
                **inquiry_payload(inquiry, viewer=request.user, restore=True),
                "url": reverse("api:inquiry-detail", kwargs={"inquiry_id": inquiry.id}),
                "stream": reverse("api:inquiry-stream", kwargs={"inquiry_id": inquiry.id}),
            }
            for inquiry in conversation.inquiries.select_related("domain").order_by("created_at")
        ]
    domains = [
        {"slug": d.slug, "name": d.name, "jurisdictions": domain_jurisdictions(d)}
        for d in domain_list(user=request.user)
    ]
    return render(
        request,
        "portal/ask.html",
        {
            "domains": domains,
            "conversation": conversation,
            "turns": turns or [],
            "history": conversation_summaries(conversations_of(request.user)[:HISTORY_LENGTH]),
            "max_chars": settings.INQUIRY_MAX_QUESTION_CHARS,
        },
    )


@login_required
@require_POST
def conversation_remove(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    erased = conversation_delete(user=request.user, conversation_id=conversation_id)
    messages.success(
        request,
        f"Conversation deleted: {erased} question{'s' if erased != 1 else ''} and "
        "answers erased. The audit trail keeps a record that they existed.",
    )
    return redirect("portal:ask")
