"""``manage.py import_capability PATH [PATH ...] [--name NAME] [--dry-run] [--strict]
[--force | --keep-edited]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from capabilities_app.management.paths import DocumentsCommand
from capabilities_app.store.importer import DocumentInput, RunReport, import_documents


class Command(DocumentsCommand):
    help = (
        "Import Naftiko capability documents (files, folders or globs). All files are "
        "checked; nothing is written unless every file passes."
    )
    name_help = "registry name (one file only; default: file name)"
    failure = "import failed; nothing was written"
    writes = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
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

    def run_documents(self, inputs: list[DocumentInput], **arguments: Any) -> RunReport:
        return import_documents(inputs, **arguments)

    def arguments(self, options: dict[str, Any]) -> dict[str, Any]:
        return {
            "dry_run": options["dry_run"],
            "force": options["force"],
            "keep_edited": options["keep_edited"],
        }
