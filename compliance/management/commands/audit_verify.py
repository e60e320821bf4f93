from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from compliance.services import audit_verify
from compliance.signing import SigningKeyError


class Command(BaseCommand):
    help = (
        "Verify the whole audit trail: every event's hash and link, the chain head and every "
        "signed checkpoint. Names the first event that was edited, deleted, reordered or "
        "inserted. Exits with status 1 when the trail does not verify."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="do not append an audit.verified event with the outcome",
        )

    def handle(self, *args, **options) -> None:
        quiet = options["verbosity"] == 0 or options["json"]

        def progress(events, total):
            return tqdm(events, total=total, desc="Verifying", unit="event", disable=quiet)

        try:
            report = audit_verify(record=not options["no_record"], progress=progress)
        except SigningKeyError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(report.summary())
            for problem in report.problems[1:10]:
                self.stdout.write(f"  also: {problem.message}")
        if not report.ok:
            raise CommandError("the audit trail does not verify", returncode=1)
