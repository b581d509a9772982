"""``manage.py validate_capability PATH ... [--strict]``: the import's checks, no writes."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.management.console import run_with_progress
from capabilities_app.management.paths import expand_paths
from capabilities_app.store.importer import check_documents, file_inputs
from capabilities_app.store.specs import file_import_resolver


class Command(BaseCommand):
    help = "Check Naftiko capability documents as an import would, without writing anything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--name", help="registry name to check (one file only)")
        parser.add_argument(
            "--strict", action="store_true", help="require the official JSON Schema to pass"
        )

    def handle(self, *args, **options) -> None:
        expansion = expand_paths(options["paths"])
        if expansion.missing:
            raise CommandError("no such file: " + ", ".join(expansion.missing))
        if options["name"] and len(expansion.files) != 1:
            raise CommandError("--name needs exactly one file")
        max_bytes = settings.REGISTRY_MAX_DOCUMENT_BYTES
        inputs = file_inputs(expansion.files, max_bytes=max_bytes, name=options["name"])
        report = run_with_progress(
            self,
            inputs,
            lambda on_progress: check_documents(
                inputs,
                strict=options["strict"],
                resolve_import=file_import_resolver(max_bytes=max_bytes),
                on_progress=on_progress,
            ),
            skipped=expansion.skipped,
        )
        if not report.ok:
            raise CommandError("validation failed", returncode=1)
