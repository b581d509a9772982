"""The aggregates family: reusable functions that REST operations and tools ``ref``.

Imports only Django, ``store.models.parts`` and ``store.models.documents``.
"""

from __future__ import annotations

from django.db import models

from capabilities_app.store.models.documents import Capability
from capabilities_app.store.models.parts import (
    CallingPart,
    DocumentPart,
    _call,
    _char,
    _json,
    _text,
    _unique,
)

__all__ = ["Aggregate", "AggregateFunction"]


class Aggregate(DocumentPart):
    """An ``aggregates`` entry: reusable functions that operations and tools ``ref``."""

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="aggregates")
    label = _char("label", 500)
    namespace = models.CharField(max_length=255)

    class Meta(DocumentPart.Meta):
        constraints = [_unique("aggregate_namespace_unique", "capability", "namespace")]

    def __str__(self) -> str:
        return self.namespace


class AggregateFunction(CallingPart):
    """A function of an aggregate."""

    capability_id_path = "aggregate.capability_id"

    aggregate = models.ForeignKey(Aggregate, on_delete=models.CASCADE, related_name="functions")
    name = models.CharField(max_length=255)
    description = _text("description")
    semantics = _json("semantics", help_text="{safe, idempotent, cacheable}")
    call = _call("aggregate_functions")

    class Meta(DocumentPart.Meta):
        constraints = [_unique("aggregate_function_name_unique", "aggregate", "name")]

    def __str__(self) -> str:
        return f"{self.aggregate.namespace}.{self.name}"
