"""What an edit made in the admin means beyond saving its rows.

- The version stamp moves, so every process serves the edit (``versioning``).
- An imported consumes block whose content is edited (the block, its resources,
  operations or parameters) is detached from the document it came from: it no longer
  is that document's block, so the export writes it inline rather than as a
  ``location``/``import`` reference that would lose the edit.

The admin calls :func:`record_edit`; the importer needs neither (it replaces whole
capabilities and moves the stamp itself).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

from . import versioning
from .models import (
    ConsumedOperation,
    ConsumedOutputParameter,
    ConsumedParameter,
    ConsumedResource,
    Consumes,
)


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
        if obj.resource_id:
            return obj.resource.consumes_id
        if obj.operation_id:
            return obj.operation.resource.consumes_id
    return None


def record_edit(objects: Iterable[models.Model]) -> None:
    """Account for admin edits of ``objects`` (possibly none): detach, then move the stamp."""
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
    versioning.bump()
