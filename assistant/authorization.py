"""Who may do what. Every access decision of the service is made here, and every denial is
audited here; views and APIs only translate the exceptions into 403 and 404 responses.

- Asking (inquiries and conversations) needs a role the domain's definition grants:
  clinician for healthcare, lawyer for legal, analyst for finance.
- Inquiries, conversations and API tokens are private to the user who created them. Anyone
  else, in the same organization or another, gets "not found", so not even their existence
  leaks; compliance officers review them through the audit UI, scoped to their organization.
- The audit UI needs the compliance officer role.
- Managing a domain's documents needs staff status (the people who run the Django admin).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from assistant.roles import COMPLIANCE_OFFICER, grants_domain, roles_of
from compliance.models import AuditEvent
from compliance.services import audit_event_record
from domains.models import Domain


class Action(StrEnum):
    INQUIRY_CREATE = "inquiry.create"
    INQUIRY_VIEW = "inquiry.view"
    CONVERSATION_VIEW = "conversation.view"
    CONVERSATION_DELETE = "conversation.delete"
    TOKEN_REVOKE = "token.revoke"  # noqa: S105 (an action name)
    DOCUMENT_MANAGE = "document.manage"
    AUDIT_REVIEW = "audit.view"


class NotVisible(Http404):
    """The object does not exist for this user (it may belong to someone else)."""


def _deny(
    user: AbstractBaseUser,
    action: Action,
    reason: str,
    *,
    domain: str = "",
    jurisdiction: str = "",
    inquiry_id: uuid.UUID | None = None,
    **details: Any,
) -> None:
    audit_event_record(
        actor=user,
        event_type=AuditEvent.Type.ACCESS_DENIED,
        outcome=AuditEvent.Outcome.DENIED,
        domain=domain,
        jurisdiction=jurisdiction,
        inquiry_id=inquiry_id,
        details={"action": str(action), "reason": reason, **details},
    )


def authorize_domain(user: AbstractBaseUser, domain: Domain, *, jurisdiction: str = "") -> None:
    """The user may ask questions in ``domain``; raises ``PermissionDenied`` (audited)."""
    if not grants_domain(user, domain):
        _deny(
            user,
            Action.INQUIRY_CREATE,
            "role_not_granted_domain",
            domain=domain.slug,
            jurisdiction=jurisdiction,
        )
        raise PermissionDenied(f"Your role does not grant access to the {domain.slug!r} domain.")


def authorize_owner(user: AbstractBaseUser, obj: Any, action: Action, *, kind: str) -> Any:
    """``obj`` (an inquiry, a conversation, a token) if it is the user's own; anything else
    raises ``NotVisible`` (audited when the object exists). ``None`` means no such object."""
    if obj is not None and obj.user_id == user.pk:
        return obj
    if obj is not None:
        inquiry_id = obj.pk if kind == "inquiry" else None
        _deny(user, action, "not_owner", inquiry_id=inquiry_id, object=kind)
    raise NotVisible(f"No {kind} with this id belongs to you.")


def authorize_officer(user: AbstractBaseUser, *, path: str = "") -> None:
    if COMPLIANCE_OFFICER not in roles_of(user):
        _deny(user, Action.AUDIT_REVIEW, "not_an_officer", path=path)
        raise PermissionDenied("Only compliance officers may review the audit trail.")


def authorize_staff(user: AbstractBaseUser, action: Action, **details: Any) -> None:
    if not user.is_staff:
        _deny(user, action, "not_staff", **details)
        raise PermissionDenied("Only administrators may manage documents.")
