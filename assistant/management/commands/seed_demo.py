from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from assistant import roles
from assistant.models import Membership, Organization

# Fixed, published passwords: for the embedded demo only, refused when DEBUG is off.
DEMO_ORGANIZATIONS = {
    "northside-health": "Northside Health",
    "harbor-legal": "Harbor Legal LLP",
    "meridian-bank": "Meridian Bank",
}
DEMO_USERS = [
    ("clinician", "clinician-demo-pass", roles.CLINICIAN, "northside-health"),
    ("lawyer", "lawyer-demo-pass", roles.LAWYER, "harbor-legal"),
    ("analyst", "analyst-demo-pass", roles.ANALYST, "meridian-bank"),
    ("officer", "officer-demo-pass", roles.COMPLIANCE_OFFICER, "northside-health"),
    # The operator's administrator belongs to no customer organization.
    ("admin", "admin-demo-pass", roles.ADMIN, None),
]


class Command(BaseCommand):
    help = "Create the roles, the demo users and the demo domains (embedded mode only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--skip-domains", action="store_true", help="do not sync the domain catalog"
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates users with published passwords; it refuses to run with DEBUG off."
            )
        User = get_user_model()
        with transaction.atomic():
            for name in roles.ROLES:
                Group.objects.get_or_create(name=name)
            organizations = {
                slug: Organization.objects.update_or_create(slug=slug, defaults={"name": name})[0]
                for slug, name in DEMO_ORGANIZATIONS.items()
            }
            for username, password, role, organization in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username)
                user.set_password(password)
                user.is_staff = role == roles.ADMIN
                user.is_superuser = role == roles.ADMIN
                user.save()
                user.groups.set([Group.objects.get(name=role)])
                if organization:
                    Membership.objects.update_or_create(
                        user=user, defaults={"organization": organizations[organization]}
                    )
        self.stdout.write(f"demo users: {', '.join(u[0] for u in DEMO_USERS)}")
        if not options["skip_domains"]:
            call_command("domains_sync", verbosity=options["verbosity"])
