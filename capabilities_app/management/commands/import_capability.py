"""``manage.py import_capability PATH [PATH ...] [--name NAME] [--dry-run] [--strict]
[--force | --keep-edited]``."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.management.console import run_with_progress
from capabilities_app.management.paths import expand_paths
from capabilities_app.store.importer import file_inputs, import_documents
from capabilities_app.store.specs import file_import_resolver


class Command(BaseCommand):
    help = (
        "Import Naftiko capability documents (files, folders or globs). All files are "
        "checked; nothing is written unless every file passes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--name", help="registry name (one file only; default: file name)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--strict", action="store_true", help="require the official JSON Schema to pass"
        )
        edited = parser.add_mutually_exclusive_group()
        edited.add_argument(
            "--force",
            action="store_true",
            help="overwrite capabilities edited in the admin since their last import "
            "(without it such an import fails, naming the edits)",
        )
        edited.add_argument(
            "--keep-edited",
            action="store_true",
            help="leave capabilities edited in the admin since their last import as they "
            "are, with a line saying so (make demo uses it)",
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
            lambda on_progress: import_documents(
                inputs,
                strict=options["strict"],
                dry_run=options["dry_run"],
                resolve_import=file_import_resolver(max_bytes=max_bytes),
                on_progress=on_progress,
                force=options["force"],
                keep_edited=options["keep_edited"],
            ),
            skipped=expansion.skipped,
        )
        if not report.ok:
            raise CommandError("import failed; nothing was written", returncode=1)
