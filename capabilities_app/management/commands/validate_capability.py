"""``manage.py validate_capability PATH ... [--strict]``: the import's checks, no writes."""

from __future__ import annotations

from typing import Any

from capabilities_app.management.paths import DocumentsCommand
from capabilities_app.store.importer import DocumentInput, RunReport, check_documents


class Command(DocumentsCommand):
    help = "Check Naftiko capability documents as an import would, without writing anything."
    name_help = "registry name to check (one file only)"
    failure = "validation failed"

    def run_documents(self, inputs: list[DocumentInput], **arguments: Any) -> RunReport:
        return check_documents(inputs, **arguments)
