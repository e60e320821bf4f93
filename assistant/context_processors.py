from __future__ import annotations

from django.http import HttpRequest

from assistant.roles import COMPLIANCE_OFFICER, roles_of


def navigation(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_officer": False}
    return {"is_officer": COMPLIANCE_OFFICER in roles_of(user)}
