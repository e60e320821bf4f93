"""Shared setup for the officer UI tests: two organizations, their users and finished inquiries
with encrypted content, written through the real services (no pipeline run needed)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from assistant import roles
from assistant.models import Inquiry, Membership, Organization
from compliance.crypto import ContentKey
from compliance.models import AuditEvent
from compliance.services import audit_event_record, organization_of
from domains.models import Domain
from tests.conftest import make_user

QUESTION = "What must <PERSON_1>'s clinic tell patients after a breach of their records?"
ANSWER = "Notify each affected individual without unreasonable delay [1]."


def member(username: str, role: str, organization: Organization) -> User:
    user = make_user(username, role)
    Membership.objects.create(user=user, organization=organization)
    return user


def finished_inquiry(user: User, domain: Domain, *, jurisdiction: str = "US", reveal=True):
    key = ContentKey.generate()
    inquiry = Inquiry.objects.create(
        user=user,
        domain=domain,
        jurisdiction=jurisdiction,
        content_key_wrapped=key.wrapped,
        question_ciphertext=key.encrypt(QUESTION.replace("<PERSON_1>", "Dr. Alice Moreno")),
        redacted_question_ciphertext=key.encrypt(QUESTION),
        answer_ciphertext=key.encrypt(ANSWER),
        status=Inquiry.Status.ANSWERED,
        policy_id=jurisdiction,
        policy_version="v" * 64,
        policy_decision={"action": "answer", "officers_may_reveal_content": reveal},
        question_entities={"PERSON": 1},
        citations=[{"passage_id": "hipaa-164.404", "n": 1}],
    )
    steps = [
        (AuditEvent.Type.INQUIRY_RECEIVED, AuditEvent.Outcome.SUCCESS, {"question_chars": 70}),
        (AuditEvent.Type.INQUIRY_SCREENED, AuditEvent.Outcome.SUCCESS, {"entities": {"PERSON": 1}}),
        (
            AuditEvent.Type.INQUIRY_ANSWERED,
            AuditEvent.Outcome.SUCCESS,
            {"citations": ["hipaa-164.404"]},
        ),
    ]
    for event_type, outcome, details in steps:
        audit_event_record(
            actor=user if event_type == AuditEvent.Type.INQUIRY_RECEIVED else None,
            event_type=event_type,
            outcome=outcome,
            inquiry_id=inquiry.id,
            domain=domain.slug,
            jurisdiction=jurisdiction,
            organization=organization_of(user),
            details=details,
        )
    return inquiry


def demo_world() -> dict:
    hospital = Organization.objects.create(slug="northside-health", name="Northside Health")
    firm = Organization.objects.create(slug="harbor-legal", name="Harbor Legal LLP")
    healthcare = Domain.objects.create(
        slug="healthcare",
        name="Healthcare",
        jurisdictions=["US", "EU-DE"],
        roles=[roles.CLINICIAN],
        system_prompt="-",
        embedding_model="-",
    )
    legal = Domain.objects.create(
        slug="legal",
        name="Legal",
        jurisdictions=["US"],
        roles=[roles.LAWYER],
        system_prompt="-",
        embedding_model="-",
    )
    world = {
        "hospital": hospital,
        "firm": firm,
        "clinician": member("clinician", roles.CLINICIAN, hospital),
        "officer": member("officer", roles.COMPLIANCE_OFFICER, hospital),
        "lawyer": member("lawyer", roles.LAWYER, firm),
        "firm_officer": member("firm-officer", roles.COMPLIANCE_OFFICER, firm),
        "admin": User.objects.create_superuser("admin", password="admin-password-123"),
    }
    world["admin"].groups.add(Group.objects.get_or_create(name=roles.ADMIN)[0])
    world["hospital_inquiry"] = finished_inquiry(world["clinician"], healthcare)
    world["german_inquiry"] = finished_inquiry(
        world["clinician"], healthcare, jurisdiction="EU-DE", reveal=False
    )
    world["firm_inquiry"] = finished_inquiry(world["lawyer"], legal)
    return world
