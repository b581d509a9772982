"""Loading the parts of capabilities in bulk: one query per model, grouped by parent.

The exporter reads one capability this way; the catalog reads every enabled one.
Either way the number of queries is fixed (one per part model), whatever the number
of operations, tools or capabilities.

Rows are asked for by model class (``rows.all(Tool)``, ``rows.children_of(BindKey,
"bind", bind.pk)``), so a reader gets its model's type back, and a model that is not a
stored part, or a parent attribute the layout does not list for it, raises
``LookupError`` instead of answering with no rows.

Imports models and ``layout``; nothing above the store.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypeVar

from django.apps import apps
from django.db.models import Model, Q

from capabilities_app.store.layout import PARTS
from capabilities_app.store.vocabulary import Children, Group

__all__ = ["PARENT_ATTRS", "Row", "Rows"]

M = TypeVar("M", bound=Model)

# A row of any of the store's models, where the layout (not a model class) says which
# attributes it has: the exporter and the writer read and set them by name.
Row = Any


def _all_members(members: tuple[Any, ...]) -> list[Any]:
    result = []
    for member in members:
        result.append(member)
        if isinstance(member, Group):
            result.extend(_all_members(member.members))
    return result


# part name → the attributes that point at its parent, one per place it is listed.
PARENT_ATTRS: dict[str, set[str]] = defaultdict(set)
for _part in PARTS.values():
    for _member in _all_members(_part.members):
        if isinstance(_member, Children):
            PARENT_ATTRS[_member.part].add(_member.parent_attr)

# model class name → part name, for the parts stored under a capability.
_PART_OF_MODEL: dict[str, str] = {
    part.model: part.name for part in PARTS.values() if part.capability_paths
}


def _part_name(model: type[Model]) -> str:
    try:
        return _PART_OF_MODEL[model.__name__]
    except KeyError:
        raise LookupError(f"{model.__name__} is not a part the row loader reads") from None


class Rows:
    """Rows of the capabilities that ``lookup`` selects, by id and by parent.

    ``lookup`` is the condition on the capability, e.g. ``{"": capability}`` for one,
    or ``{"__enabled": True}`` for every enabled one; it is joined to each model's
    path to its capability.
    """

    def __init__(
        self, lookup: dict[str, Any], *, select_related: dict[str, tuple] | None = None
    ) -> None:
        self._children: dict[tuple[str, str, int], list[Model]] = defaultdict(list)
        self._by_id: dict[tuple[str, int], Model] = {}
        self._all: dict[str, list[Model]] = defaultdict(list)
        for part in PARTS.values():
            if not part.capability_paths:
                continue  # the capability itself
            model = apps.get_model("capabilities_app", part.model)
            query = Q()
            for path in part.capability_paths:
                query |= Q(**{f"{path}{suffix}": value for suffix, value in lookup.items()})
            rows = model.objects.filter(query).order_by("position", "id")
            if select_related and part.name in select_related:
                rows = rows.select_related(*select_related[part.name])
            parent_attrs = PARENT_ATTRS[part.name]
            for row in rows:
                self._by_id[(part.name, row.pk)] = row
                self._all[part.name].append(row)
                for attr in parent_attrs:
                    parent_id = getattr(row, f"{attr}_id")
                    if parent_id is not None:
                        self._children[(part.name, attr, parent_id)].append(row)

    def of(self, member: Children, parent: Model) -> list[Model]:
        """The children ``member`` lists under ``parent``, in document order."""
        rows = self._children.get((member.part, member.parent_attr, parent.pk), [])
        if member.fixed:
            rows = [r for r in rows if all(getattr(r, a) == v for a, v in member.fixed)]
        return rows

    # The tables hold each model's rows under its part name (``_part_name(model)``), so what
    # is found there is ``model``'s: an invariant mypy cannot follow (the ignores below).

    def all(self, model: type[M]) -> list[M]:
        """Every loaded row of ``model``, in document order."""
        return self._all.get(_part_name(model), [])  # type: ignore[return-value]

    def children_of(self, model: type[M], parent_attr: str, parent_id: int) -> list[M]:
        """The rows of ``model`` whose ``parent_attr`` is ``parent_id``, in document order."""
        part = _part_name(model)
        if parent_attr not in PARENT_ATTRS[part]:
            raise LookupError(
                f"{model.__name__} has no parent {parent_attr!r} in the layout "
                f"(it has: {', '.join(sorted(PARENT_ATTRS[part]))})"
            )
        return self._children.get((part, parent_attr, parent_id), [])  # type: ignore[return-value]

    def find(self, model: type[M], pk: int | None) -> M | None:
        """The loaded row of ``model`` with id ``pk``, or ``None``."""
        part = _part_name(model)
        return None if pk is None else self._by_id.get((part, pk))  # type: ignore[return-value]

    def get(self, model: type[M], pk: int) -> M:
        """The loaded row of ``model`` with id ``pk``; ``KeyError`` when it is not loaded."""
        return self._by_id[(_part_name(model), pk)]  # type: ignore[return-value]
