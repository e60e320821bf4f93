"""Logins, failed logins and logouts go into the audit trail."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from compliance.models import AuditEvent
from compliance.services import audit_event_record


def _channel(request) -> str:
    if request is None:
        return "unknown"
    return "api" if request.path.startswith("/api/") else "portal"


@receiver(user_logged_in, dispatch_uid="compliance.audit.login")
def _logged_in(sender, request, user, **kwargs) -> None:
    audit_event_record(
        actor=user,
        event_type=AuditEvent.Type.AUTH_LOGIN,
        outcome=AuditEvent.Outcome.SUCCESS,
        details={"channel": _channel(request)},
    )


@receiver(user_logged_out, dispatch_uid="compliance.audit.logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_event_record(
            actor=user,
            event_type=AuditEvent.Type.AUTH_LOGOUT,
            outcome=AuditEvent.Outcome.SUCCESS,
            details={"channel": _channel(request)},
        )


@receiver(user_login_failed, dispatch_uid="compliance.audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    # What was typed as a user name is kept only when it names an account: an unknown one may
    # be a mistyped password or someone's personal data.
    User = get_user_model()
    typed = credentials.get(User.USERNAME_FIELD) or credentials.get("username") or ""
    account = (
        User._default_manager.filter(**{User.USERNAME_FIELD: typed}).first() if typed else None
    )
    audit_event_record(
        actor=account,
        event_type=AuditEvent.Type.AUTH_LOGIN_FAILED,
        outcome=AuditEvent.Outcome.DENIED,
        details={"channel": _channel(request), "account_exists": account is not None},
    )


@receiver(user_locked_out, dispatch_uid="compliance.audit.locked_out")
def _locked_out(sender, request=None, **kwargs) -> None:
    # django-axes passes the lockout key (an HMAC of the typed name), never the name itself.
    audit_event_record(
        actor=None,
        event_type=AuditEvent.Type.AUTH_LOCKED_OUT,
        outcome=AuditEvent.Outcome.DENIED,
        details={"channel": _channel(request)},
    )
