"""How callers prove who they are: expiring API tokens, and the lockout of repeated failed
logins (django-axes) for the portal and the token endpoint alike."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from assistant.authorization import Action, authorize_owner
from assistant.exceptions import error_body
from assistant.models import ApiToken
from compliance.models import AuditEvent
from compliance.services import audit_event_record


def token_create(*, user: AbstractBaseUser, label: str = "") -> tuple[ApiToken, str]:
    """A new API token for the user, and its secret (shown once; only its digest is kept)."""
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    live = ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).count()
    if live >= limit:
        raise ValidationError(
            {"non_field_errors": [f"You already have {live} live tokens; revoke one first."]},
            code="token_limit",
        )
    with transaction.atomic():
        token, secret = ApiToken.objects.create(user=user, label=label)
        # Getting a token is the API's login: it goes in the trail like a portal login.
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.AUTH_LOGIN,
            outcome=AuditEvent.Outcome.SUCCESS,
            details={"channel": "api", "method": "token", "token": str(token.public_id)},
        )
    return token, secret


def token_revoke(*, user: AbstractBaseUser, public_id: uuid.UUID) -> None:
    # Decided outside the transaction below, so that the audited denial is not rolled back.
    token = authorize_owner(
        user,
        ApiToken.objects.filter(public_id=public_id).first(),
        Action.TOKEN_REVOKE,
        kind="token",
    )
    with transaction.atomic():
        token.delete()
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.AUTH_TOKEN_REVOKED,
            outcome=AuditEvent.Outcome.SUCCESS,
            details={"token": str(public_id)},
        )


def client_address(request: HttpRequest) -> str | None:
    """The caller's address as throttling sees it, so that the login lockout and the API
    throttles agree: REMOTE_ADDR, or with NUM_PROXIES trusted proxies in front, the address
    the outermost of them saw (the entry they appended to X-Forwarded-For). Entries the
    client wrote itself are never trusted."""
    from rest_framework.throttling import BaseThrottle

    return BaseThrottle().get_ident(request)


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
