"""Loading the parts of capabilities in bulk: one query per model, grouped by parent.

The exporter reads one capability this way; the catalog reads every enabled one.
Either way the number of queries is fixed (one per part model), whatever the number
of operations, tools or capabilities.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.db.models import Model, Q

from capabilities_app.store.layout import PARTS
from capabilities_app.store.vocabulary import Children, Group


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


class Rows:
    """Rows of the capabilities that ``lookup`` selects, by id and by parent.

    ``lookup`` is the condition on the capability, e.g. ``{"": capability}`` for one,
    or ``{"__enabled": True}`` for every enabled one; it is joined to each model's
    path to its capability.
    """

    def __init__(
        self, lookup: dict[str, Any], *, select_related: dict[str, tuple] | None = None
    ) -> None:
        self.children: dict[tuple[str, str, int], list[Model]] = defaultdict(list)
        self.by_id: dict[tuple[str, int], Model] = {}
        self.all: dict[str, list[Model]] = defaultdict(list)
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
                self.by_id[(part.name, row.pk)] = row
                self.all[part.name].append(row)
                for attr in parent_attrs:
                    parent_id = getattr(row, f"{attr}_id")
                    if parent_id is not None:
                        self.children[(part.name, attr, parent_id)].append(row)

    def of(self, member: Children, parent: Model) -> list[Model]:
        """The children ``member`` lists under ``parent``, in document order."""
        rows = self.children.get((member.part, member.parent_attr, parent.pk), [])
        if member.fixed:
            rows = [r for r in rows if all(getattr(r, a) == v for a, v in member.fixed)]
        return rows

    def children_of(self, part: str, parent_attr: str, parent_id: int) -> list[Model]:
        return self.children.get((part, parent_attr, parent_id), [])

    def get(self, part: str, pk: int | None) -> Model | None:
        return None if pk is None else self.by_id.get((part, pk))
