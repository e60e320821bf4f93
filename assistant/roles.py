"""Roles are Django groups with these names; a domain's definition lists the roles it grants."""

from __future__ import annotations

CLINICIAN = "clinician"
LAWYER = "lawyer"
ANALYST = "analyst"
COMPLIANCE_OFFICER = "compliance_officer"
ADMIN = "admin"

ROLES = [CLINICIAN, LAWYER, ANALYST, COMPLIANCE_OFFICER, ADMIN]
