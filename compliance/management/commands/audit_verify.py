from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from compliance.audit_witness import WitnessError, witness_read
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
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="signed checkpoints kept outside the database (the witness file, or the "
            "collected compliance.audit.checkpoints log) that the database must still hold; "
            "default: AUDIT_WITNESS_FILE when it is set",
        )
        parser.add_argument(
            "--max-unsigned-age",
            type=int,
            metavar="SECONDS",
            help="fail when an event has waited longer than this for a signed checkpoint",
        )

    def _witnessed(self, name: str | None) -> list[dict] | None:
        """The checkpoints of ``--checkpoints``; None leaves ``audit_verify`` to read the
        configured witness (an unreadable one fails the check there)."""
        if not name:
            return None
        try:
            return witness_read(Path(name))
        except WitnessError as exc:
            raise CommandError(str(exc)) from None

    def handle(self, *args, **options) -> None:
        quiet = options["verbosity"] == 0 or options["json"]

        def progress(events, total):
            return tqdm(events, total=total, desc="Verifying", unit="event", disable=quiet)

        witnessed = self._witnessed(options["checkpoints"])
        max_age = options["max_unsigned_age"]
        if max_age is not None and max_age <= 0:
            raise CommandError("--max-unsigned-age: give a number of seconds above 0")
        try:
            report = audit_verify(
                record=not options["no_record"],
                progress=progress,
                witnessed=witnessed,
                max_unsigned_age=timedelta(seconds=max_age) if max_age else None,
            )
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
