"""Who may do what, through every door: each role, against every API endpoint and method and
the portal's and audit UI's pages, on its own objects and on those of a user of another
organization (and of a colleague in the same one). The expected table is written out in full;
a failure prints every cell that differs. Denials must also reach the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from assistant import roles
from assistant.models import ApiToken, Conversation, Organization
from compliance.models import AuditEvent
from domains.models import DocumentUpload
from tests.compliance.officer_fixtures import finished_inquiry, member

ROLES = [roles.CLINICIAN, roles.LAWYER, roles.ANALYST, roles.COMPLIANCE_OFFICER, roles.ADMIN]
GRANTS = {roles.CLINICIAN: "healthcare", roles.LAWYER: "legal", roles.ANALYST: "finance"}
DOMAINS = {"healthcare": "US", "legal": "US", "finance": "US"}


class World:
    """Org A holds the actor and a colleague; org B holds a user of the same role. Each owns a
    conversation with one answered inquiry, and an API token."""

    def __init__(self, role: str, domains: dict) -> None:
        org_a = Organization.objects.create(slug="org-a", name="Org A")
        org_b = Organization.objects.create(slug="org-b", name="Org B")
        self.actor = member(f"{role}-a", role, org_a)
        self.colleague = member(f"{role}-a2", role, org_a)
        self.stranger = member(f"{role}-b", role, org_b)
        if role == roles.ADMIN:
            User.objects.filter(pk=self.actor.pk).update(is_staff=True)
            self.actor.refresh_from_db()
        domain = domains[GRANTS.get(role, "healthcare")]
        self.objects = {}
        for owner_name, owner in (
            ("own", self.actor),
            ("colleague", self.colleague),
            ("other_org", self.stranger),
        ):
            inquiry = finished_inquiry(owner, domain)
            conversation = Conversation.objects.create(user=owner, domain=domain, jurisdiction="US")
            inquiry.conversation = conversation
            inquiry.save(update_fields=["conversation"])
            token, _ = ApiToken.objects.create(user=owner)
            self.objects[owner_name] = {
                "inquiry": inquiry.id,
                "conversation": conversation.id,
                "token": token.public_id,
            }
        self.upload = DocumentUpload.objects.create(domain=domains["healthcare"], file="x.md")


def _requests(world: World) -> list[tuple[str, str, str, dict]]:
    """(label, method, path, options) for every endpoint, with each owner's objects."""
    cases = [
        ("domains", "get", "/api/v1/domains", {}),
        ("jurisdictions", "get", "/api/v1/jurisdictions", {}),
        ("policies", "get", "/api/v1/policies", {}),
        ("policy explain", "get", "/api/v1/policies/US?domain=healthcare", {}),
        ("inquiries list", "get", "/api/v1/inquiries", {}),
        ("conversations list", "get", "/api/v1/conversations", {}),
        ("tokens list", "get", "/api/v1/auth/tokens", {}),
        ("document detail", "get", f"/api/v1/documents/{world.upload.token}", {}),
        ("audit UI", "get", "/compliance/", {"portal": True}),
        ("portal home", "get", "/", {"portal": True}),
    ]
    for domain, jurisdiction in DOMAINS.items():
        cases.append(
            (
                f"create in {domain}",
                "post",
                "/api/v1/inquiries",
                {"json": {"domain": domain, "jurisdiction": jurisdiction, "question": "Q?"}},
            )
        )
        cases.append(
            (
                f"upload to {domain}",
                "post",
                f"/api/v1/domains/{domain}/documents",
                {"multipart": True},
            )
        )
    for owner, ids in world.objects.items():
        inquiry, conversation, token = ids["inquiry"], ids["conversation"], ids["token"]
        cases += [
            (f"{owner} inquiry", "get", f"/api/v1/inquiries/{inquiry}", {}),
            (f"{owner} inquiry stream", "get", f"/api/v1/inquiries/{inquiry}/stream", {}),
            (f"{owner} conversation", "get", f"/api/v1/conversations/{conversation}", {}),
            (
                f"{owner} follow-up",
                "post",
                "/api/v1/inquiries",
                {"json": {"conversation": str(conversation), "question": "And then?"}},
            ),
            (
                f"{owner} conversation page",
                "get",
                f"/conversations/{conversation}",
                {"portal": True},
            ),
            (f"{owner} token revoke", "delete", f"/api/v1/auth/tokens/{token}", {}),
            (f"{owner} conversation delete", "delete", f"/api/v1/conversations/{conversation}", {}),
        ]
    return cases


def _expected(role: str) -> dict[str, int]:
    asks = role in GRANTS
    expected = {
        "domains": 200,
        "jurisdictions": 200,
        "policies": 200,
        "policy explain": 200,
        "inquiries list": 200,
        "conversations list": 200,
        "tokens list": 200,
        "document detail": 200 if role == roles.ADMIN else 403,
        "audit UI": 200 if role == roles.COMPLIANCE_OFFICER else 403,
        # Officers are sent to the audit UI; everyone else gets the portal.
        "portal home": 302 if role == roles.COMPLIANCE_OFFICER else 200,
    }
    for domain in DOMAINS:
        expected[f"create in {domain}"] = 202 if GRANTS.get(role) == domain else 403
        # An admin's upload without a file is refused for the file, not for the role.
        expected[f"upload to {domain}"] = 400 if role == roles.ADMIN else 403
    for owner in ("own", "colleague", "other_org"):
        own = owner == "own"
        expected |= {
            f"{owner} inquiry": 200 if own else 404,
            f"{owner} inquiry stream": 200 if own else 404,
            f"{owner} conversation": 200 if own else 404,
            # A follow-up in someone else's conversation names the field; in one's own it is
            # accepted when the role grants the conversation's domain.
            f"{owner} follow-up": (202 if asks else 403) if own else 400,
            # An officer is sent to the audit UI before any conversation is looked up.
            f"{owner} conversation page": 302
            if role == roles.COMPLIANCE_OFFICER
            else (200 if own else 404),
            f"{owner} token revoke": 204 if own else 404,
            f"{owner} conversation delete": 204 if own else 404,
        }
    return expected


def _call(world: World, api: APIClient, portal: Client, method: str, path: str, options: dict):
    if options.get("portal"):
        return getattr(portal, method)(path)
    if "json" in options:
        return getattr(api, method)(path, options["json"], format="json")
    if options.get("multipart"):
        return api.post(path, {"jurisdictions": "US"}, format="multipart")
    return getattr(api, method)(path)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_for_every_role_on_own_and_other_objects(
    role, catalog_domains, queued_ids, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    world = World(role, catalog_domains)
    api = APIClient()
    api.force_authenticate(world.actor)
    portal = Client()
    portal.force_login(world.actor)
    cases = _requests(world)
    expected = _expected(role)
    assert sorted(label for label, *_ in cases) == sorted(expected)

    denied_before = AuditEvent.objects.filter(event_type="access.denied").count()
    actual = {}
    for label, method, path, options in cases:
        response = _call(world, api, portal, method, path, options)
        actual[label] = response.status_code
        if response.status_code >= 400 and not options.get("portal"):
            assert response["Content-Type"].startswith("application/json"), label
            assert response.json()["error"]["status"] == response.status_code, label
    mismatches = {k: (actual[k], v) for k, v in expected.items() if actual[k] != v}
    assert not mismatches, f"(actual, expected) for {role}: {mismatches}"

    # Every refusal to reach an object that exists, or to use a role it lacks, is in the trail.
    refusals = sum(
        1
        for label, status in actual.items()
        if status == 403 or (status in (400, 404) and not label.startswith(("own", "upload")))
    )
    denied = AuditEvent.objects.filter(event_type="access.denied").count() - denied_before
    assert denied == refusals, (denied, refusals)


@pytest.mark.django_db
def test_lists_hold_only_the_callers_own_objects(catalog_domains):
    world = World(roles.CLINICIAN, catalog_domains)
    api = APIClient()
    api.force_authenticate(world.actor)
    own = world.objects["own"]
    inquiries = api.get("/api/v1/inquiries").json()
    conversations = api.get("/api/v1/conversations").json()
    tokens = api.get("/api/v1/auth/tokens").json()
    assert [i["id"] for i in inquiries["results"]] == [str(own["inquiry"])]
    assert [c["id"] for c in conversations["results"]] == [str(own["conversation"])]
    assert [t["id"] for t in tokens["results"]] == [str(own["token"])]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/inquiries"),
        ("post", "/api/v1/inquiries"),
        ("get", "/api/v1/conversations"),
        ("get", "/api/v1/domains"),
        ("get", "/api/v1/jurisdictions"),
        ("get", "/api/v1/auth/tokens"),
        ("get", "/api/v1/policies"),
    ],
)
def test_anonymous_callers_get_401(method, path):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
