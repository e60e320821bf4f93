from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from compliance.forms import AuditFilterForm
from compliance.models import AuditEvent
from compliance.services import audit_export
from compliance.signing import SigningKeyError

FILTERS = {
    "from": "date_from",
    "to": "date_to",
    "user": "user",
    "organization": "organization",
    "domain": "domain",
    "jurisdiction": "jurisdiction",
    "type": "event_type",
    "outcome": "outcome",
    "inquiry": "inquiry",
}


class Command(BaseCommand):
    help = (
        "Export audit events (all, or those matching the filters) as a bundle that "
        "compliance/audit_chain.py verifies offline. Signs the chain head first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", type=Path, required=True, help="the .zip to write")
        parser.add_argument("--from", help="first day, YYYY-MM-DD")
        parser.add_argument("--to", help="last day, YYYY-MM-DD")
        for name in ("user", "organization", "domain", "jurisdiction", "outcome", "inquiry"):
            parser.add_argument(f"--{name}")
        parser.add_argument("--type", help="event type, e.g. inquiry.refused")

    def handle(self, *args, **options) -> None:
        data = {field: options[arg] for arg, field in FILTERS.items() if options.get(arg)}
        events = AuditEvent.objects.all()
        form = AuditFilterForm(data, events=events)
        if not form.is_valid():
            option = {field: f"--{arg}" for arg, field in FILTERS.items()}
            option["__all__"] = "--from/--to"
            problems = "; ".join(
                f"{option.get(field, field)}: {' '.join(errors)}"
                for field, errors in form.errors.items()
            )
            raise CommandError(f"invalid filter: {problems}")
        output: Path = options["output"]
        if output.exists():
            raise CommandError(f"{output}: already exists; choose another file")
        try:
            with output.open("xb") as handle:
                manifest = audit_export(
                    actor=None,
                    events=form.apply(events),
                    description=form.description(),
                    output=handle,
                )
        except (SigningKeyError, OSError) as exc:
            output.unlink(missing_ok=True)
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"wrote {output}: {len(manifest['selected'])} selected events in "
            f"{len(manifest['runs'])} signed runs; verify with: "
            f"python compliance/audit_chain.py {output}"
        )
