"""Roles are Django groups with these names; a domain's definition lists the roles it grants."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from domains.models import Domain

CLINICIAN = "clinician"
LAWYER = "lawyer"
ANALYST = "analyst"
COMPLIANCE_OFFICER = "compliance_officer"
ADMIN = "admin"

ROLES = [CLINICIAN, LAWYER, ANALYST, COMPLIANCE_OFFICER, ADMIN]


def roles_of(user: AbstractBaseUser) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def grants_domain(user: AbstractBaseUser, domain: Domain) -> bool:
    return bool(roles_of(user) & set(domain.roles))
