"""How callers prove who they are: expiring API tokens, and the lockout of repeated failed
logins (django-axes) for the portal and the token endpoint alike."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from assistant.exceptions import error_body


def username_for_lockout(request: HttpRequest, credentials: dict | None) -> str:
    """The key failed logins are counted under: an HMAC, so a mistyped username (which may be
    someone's name or e-mail address) is never kept in the cache as typed."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    digest = hmac.new(
        settings.SECRET_KEY.encode(), username.strip().lower().encode(), hashlib.sha256
    )
    return digest.hexdigest()[:32]


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed logins for this username from this address. Try again in {minutes} "
        "minutes, or ask an administrator to unlock the account."
    )


def locked_out_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(429, "locked_out", lockout_message()), status=429)
    else:
        response = render(
            request, "registration/locked_out.html", {"message": lockout_message()}, status=429
        )
    response["Retry-After"] = retry_after
    return response
