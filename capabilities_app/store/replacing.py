"""A capability replaced by its whole document, as edited in the admin's YAML tab.

``replace_document`` runs the importer (the registry API's ``PUT``, ``import_capability``)
on the edited text, under the capability's own name, in one transaction: on any error
nothing is written and the errors come back with their line and column. Saving in the
admin is an explicit overwrite, so an earlier admin edit does not refuse it (``force``).

It stays an *admin edit*, not an import: the capability keeps the provenance of its
last import (source document, origin, imported at) and is marked edited, so a later
import of the old file still refuses unless forced, naming what it would overwrite
(``editing.overwritten_by``), as after any other admin edit. The importer moved the
version stamp and the revision once.

Imports the store only; nothing above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from capabilities_app.core.errors import Diagnostic
from capabilities_app.store.importer import (
    Outcome,
    import_documents,
    registry_import_resolver,
    text_input,
)
from capabilities_app.store.models import Capability

__all__ = ["Replacement", "replace_document"]

_PROVENANCE = ("source_document", "source_sha256", "source_origin", "imported_at")


@dataclass
class Replacement:
    """What saving the YAML did: ``updated``, ``unchanged`` or ``failed`` (with errors)."""

    origin: str  # the name errors are located in (``<name>.yaml``)
    outcome: Outcome
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome.status != "failed"

    def in_document(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Those located in the edited text itself (not in a document it imports)."""
        return [d for d in diagnostics if d.origin == self.origin]


def replace_document(capability: Capability, text: str, *, max_bytes: int) -> Replacement:
    """Replace ``capability`` by the document ``text``; nothing written on error."""
    origin = f"{capability.name}.yaml"
    before = {name: getattr(capability, name) for name in _PROVENANCE}
    document = text_input(origin, text.encode(), max_bytes=max_bytes, name=capability.name)
    with transaction.atomic():
        report = import_documents(
            [document],
            force=True,
            resolve_import=registry_import_resolver(max_bytes=max_bytes),
        )
        outcome = report.outcomes[0]
        if outcome.status == "updated" and outcome.capability_id is not None:
            Capability.objects.filter(pk=outcome.capability_id).update(
                **before, edited_at=timezone.now()
            )
    return Replacement(origin, outcome, list(outcome.errors), list(outcome.warnings))
