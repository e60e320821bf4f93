from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from compliance.jurisdictions import EVERYWHERE, jurisdiction_names
from domains.ingestion import SUPPORTED_SUFFIXES, IngestionError, PassageDraft, parse_file
from domains.management.commands._domains import domain_or_error
from domains.services import corpus_ingest


class Command(BaseCommand):
    help = (
        "Add documents to a domain's corpus and update its index. Supported: "
        + ", ".join(SUPPORTED_SUFFIXES)
        + '. JSONL lines are {"id", "text", "metadata"}. Re-ingesting a file replaces the '
        "passages previously ingested from a file of the same name."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--domain", required=True, help="domain slug, e.g. healthcare")
        parser.add_argument(
            "--jurisdiction",
            action="append",
            dest="jurisdictions",
            help="jurisdiction the documents apply to (repeatable; default: every jurisdiction "
            "of the domain); JSONL metadata and Markdown front matter override it",
        )
        parser.add_argument(
            "--citation-prefix",
            default="",
            help="the instrument the documents belong to, e.g. '45 CFR' or 'GDPR', so passages "
            "are cited '45 CFR 164.404(b)' (HTML titles ending in '(GDPR)' and Markdown front "
            "matter set it too)",
        )
        parser.add_argument(
            "--effective-date", default="", help="date the text took effect, YYYY-MM-DD"
        )
        parser.add_argument("paths", nargs="+", help="files or directories")

    def handle(self, *args, **options) -> None:
        domain = domain_or_error(options["domain"])
        jurisdictions = options["jurisdictions"] or [EVERYWHERE]
        for code in jurisdictions:
            if code != EVERYWHERE and code not in jurisdiction_names():
                raise CommandError(
                    f"unknown jurisdiction {code!r} (known: {', '.join(jurisdiction_names())})"
                )

        files = self._files([Path(p) for p in options["paths"]])
        drafts: list[PassageDraft] = []
        failures: list[str] = []
        for path in tqdm(files, desc="Parsing", unit="file", disable=options["verbosity"] == 0):
            try:
                drafts += parse_file(
                    path,
                    jurisdictions=jurisdictions,
                    citation_prefix=options["citation_prefix"],
                    effective_date=options["effective_date"],
                )
            except IngestionError as exc:
                # A broken file is reported and skipped whole; the rest of the batch goes on.
                failures.append(str(exc))
                tqdm.write(self.style.ERROR(f"skipped {exc}"))

        # Two different files with the same name would replace each other's passages.
        by_name: dict[str, Path] = {}
        for path in files:
            if path.name in by_name and by_name[path.name] != path:
                raise CommandError(
                    f"{path} and {by_name[path.name]} have the same file name; ingest them separately"
                )
            by_name[path.name] = path
        duplicate_ids = _duplicates(drafts)
        if duplicate_ids:
            raise CommandError(
                f"passage ids appear in more than one file: {', '.join(duplicate_ids[:10])}"
            )

        if drafts:
            result = corpus_ingest(
                domain=domain, drafts=drafts, actor=None, progress=options["verbosity"] > 0
            )
            self.stdout.write(
                f"{domain.slug}: added {result.added}, updated {result.updated}, "
                f"unchanged {result.unchanged}, removed {result.removed}; "
                f"{domain.passages.count()} passages in the corpus"
            )
        if failures:
            raise CommandError(
                f"{len(failures)} of {len(files)} files could not be ingested:\n"
                + "\n".join(failures)
            )

    def _files(self, paths: list[Path]) -> list[Path]:
        files = []
        for path in paths:
            if path.is_dir():
                files += sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix.lower() in SUPPORTED_SUFFIXES and p.is_file()
                )
            elif path.exists():
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or directory")
        if not files:
            raise CommandError("no supported files found")
        return files


def _duplicates(drafts: list[PassageDraft]) -> list[str]:
    seen: set[str] = set()
    repeated = []
    for draft in drafts:
        if draft.source_id in seen:
            repeated.append(draft.source_id)
        seen.add(draft.source_id)
    return repeated
