from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from compliance.services import policies_record_changes
from domains.catalog import CATALOG_DIR, DefinitionError, catalog_definitions
from domains.ingestion import IngestionError
from domains.services import domains_sync


class Command(BaseCommand):
    help = f"Create or update domains from {CATALOG_DIR}/<slug>/domain.yaml and ingest their starter corpora."

    def handle(self, *args, **options) -> None:
        try:
            definitions = catalog_definitions()
        except DefinitionError as exc:
            raise CommandError(str(exc)) from exc
        try:
            results = domains_sync(
                definitions=definitions, actor=None, progress=options["verbosity"] > 0
            )
        except IngestionError as exc:
            raise CommandError(str(exc)) from exc
        for change in policies_record_changes():
            self.stdout.write(
                f"policy {change['jurisdiction']}: {change['change']} ({change['version'][:12]})"
            )
        for domain, result in results:
            self.stdout.write(
                f"{domain.slug}: {domain.passages.count()} passages "
                f"(added {result.added}, updated {result.updated}, unchanged {result.unchanged}, "
                f"removed {result.removed})"
            )
