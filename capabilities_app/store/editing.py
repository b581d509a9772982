"""What an edit made in the admin means beyond saving its rows.

- The version stamp moves, so every process serves the edit (``versioning``).
- The capability is marked edited (``Capability.edited_at``): an import over it then
  refuses unless forced, naming what it would overwrite (:func:`overwritten_by`), so
  an admin's edit is never lost without a word. An import clears the mark.
- An imported consumes block whose content is edited (the block, its resources,
  operations or parameters) is detached from the document it came from: it no longer
  is that document's block, so the export writes it inline rather than as a
  ``location``/``import`` reference that would lose the edit.
- The capability's revision moves (``Capability.revision``, ``revised_at``, ``changed_at``:
  its version in the MCP Registry API, ``docs/mcp-registry.md``).
- Enabling or disabling capabilities moves the stamp too (:func:`set_enabled`), and
  their ``changed_at``, not their revision.
- Deleting a capability through the registry API moves the stamp too
  (:func:`delete_capability`).

What an edit is checked against before it is saved lives in ``checking``. The admin
calls :func:`record_edit` and :func:`set_enabled`; the importer calls
:func:`overwritten_by`. Must not import httpx, the MCP SDK or a surface.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from capabilities_app.core.errors import SpecError
from capabilities_app.store import exporter, versioning
from capabilities_app.store.layout import PARTS
from capabilities_app.store.loader import KeyPath, parse_source
from capabilities_app.store.models import (
    Capability,
    ConsumedOperation,
    ConsumedOutputParameter,
    ConsumedParameter,
    ConsumedResource,
    Consumes,
)

__all__ = [
    "capability_of",
    "consumes_of",
    "delete_capability",
    "differences",
    "edits_since_import",
    "last_imported",
    "overwritten_by",
    "record_edit",
    "set_enabled",
    "value_at",
]

_PART_OF_MODEL = {part.model: part for part in PARTS.values()}


def consumes_of(obj: models.Model) -> int | None:
    """The id of the consumes block ``obj`` belongs to, if it belongs to one."""
    if isinstance(obj, Consumes):
        return obj.pk
    if isinstance(obj, ConsumedResource):
        return obj.consumes_id
    if isinstance(obj, ConsumedOperation):
        return obj.resource.consumes_id if obj.resource_id else None
    if isinstance(obj, ConsumedOutputParameter):
        return obj.operation.resource.consumes_id if obj.operation_id else None
    if isinstance(obj, ConsumedParameter):
        if obj.consumes_id:
            return obj.consumes_id
        # A parameter's parent is one of three (nullable) keys; the one set is not None.
        if obj.resource_id and obj.resource:
            return obj.resource.consumes_id
        if obj.operation_id and obj.operation:
            return obj.operation.resource.consumes_id
    return None


def capability_of(obj: models.Model) -> int | None:
    """The id of the capability ``obj`` is a part of (following ``layout``'s paths)."""
    if isinstance(obj, Capability):
        return obj.pk
    part = _PART_OF_MODEL.get(type(obj).__name__)
    for lookup in part.capability_paths if part else ():
        *parents, last = lookup.split("__")
        current: Any = obj
        for attr in parents:
            if getattr(current, f"{attr}_id", None) is None:
                break
            current = getattr(current, attr)
        else:
            found = getattr(current, f"{last}_id", None)
            if found is not None:
                return found
    return None


def record_edit(objects: Iterable[models.Model]) -> None:
    """Account for admin edits of ``objects`` (possibly none): detach, mark, move the stamp."""
    objects = list(objects)
    ids = {consumes_of(obj) for obj in objects} - {None}
    if ids:
        for consumes in Consumes.objects.filter(pk__in=ids, import_location__isnull=False):
            consumes.import_location = None
            consumes.import_name = None
            consumes.import_alias = None
            consumes.import_description = None
            consumes.import_sha256 = ""
            consumes.extra.pop("__import__", None)
            consumes.save(
                update_fields=[
                    "import_location",
                    "import_name",
                    "import_alias",
                    "import_description",
                    "import_sha256",
                    "extra",
                ]
            )
    edited = {capability_of(obj) for obj in objects} - {None}
    if edited:
        # update(): no save() of the capability, so its own auto_now field stays as it is.
        # Any part edited is a new revision of the capability (its MCP Registry version).
        now = timezone.now()
        Capability.objects.filter(pk__in=edited).update(
            edited_at=now, revision=F("revision") + 1, revised_at=now, changed_at=now
        )
    versioning.bump()


def set_enabled(capabilities: QuerySet[Capability], *, enabled: bool) -> int:
    """Enable or disable ``capabilities`` and move the stamp; how many there were.

    Not an edit of their content: the capabilities are not marked edited and keep their
    revision; those whose state flips have changed in the registry (``changed_at``: the
    MCP Registry's ``updated_since`` sees one enabled again).
    """
    flipped = Case(When(enabled=enabled, then=F("changed_at")), default=Value(timezone.now()))
    count = capabilities.update(enabled=enabled, changed_at=flipped)
    versioning.bump()
    return count


def delete_capability(capability: Capability) -> None:
    """Delete ``capability`` with every part of it and move the stamp (the registry API's
    ``DELETE``), in one transaction: no process serves it afterwards."""
    with transaction.atomic():
        capability.delete()
        versioning.bump()


# --------------------------------------------------------------------------- edits vs imports

_MISSING = object()


def differences(before: Any, after: Any, path: KeyPath = ()) -> list[KeyPath]:
    """The key paths where two documents differ (the deepest ones that do)."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[KeyPath] = []
        for key in [*after, *(k for k in before if k not in after)]:
            if key not in before or key not in after:
                found.append((*path, key))
            else:
                found.extend(differences(before[key], after[key], (*path, key)))
        return found
    if isinstance(before, list) and isinstance(after, list):
        found = []
        for i in range(max(len(before), len(after))):
            if i >= len(before) or i >= len(after):
                found.append((*path, i))
            else:
                found.extend(differences(before[i], after[i], (*path, i)))
        return found
    return [path]


def value_at(document: Any, path: KeyPath) -> Any:
    for key in path:
        if isinstance(document, list) and isinstance(key, int):
            if key >= len(document):
                return _MISSING
        elif not (isinstance(document, dict) and key in document):
            return _MISSING
        document = document[key]
    return document


def last_imported(capability: Capability) -> Any:
    """The document as it was last imported (``{}`` when there is none to read)."""
    text = capability.source_document
    if not text:
        return {}
    try:
        return parse_source(text, origin="stored", max_bytes=len(text.encode()) + 1).data
    except SpecError:
        return {}


def edits_since_import(capability: Capability) -> list[KeyPath]:
    """Where the capability as stored differs from the document last imported."""
    return differences(last_imported(capability), exporter.build_document(capability))


def overwritten_by(capability: Capability, document: Any) -> list[KeyPath]:
    """The admin's edits (since the last import) that importing ``document`` would undo.

    Both sides are compared as written (imported consumes blocks as references): an
    edit the new document holds too is kept by the import, so it is not listed.
    """
    if capability.edited_at is None:
        return []
    current = exporter.build_document(capability)
    return [
        path
        for path in differences(last_imported(capability), current)
        if value_at(current, path) != value_at(document, path)
    ]
