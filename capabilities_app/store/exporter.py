"""Capabilities back to documents: from the models to YAML that re-imports to the same state.

``build_document`` walks ``layout`` over a capability's rows and produces the document
(keys in the order the official schema lists them, unknown keys after them, as they
were written). ``resolved_document`` produces the same with each imported consumes
block inlined, which is what the importer compares to decide that a re-import
changes nothing. Consumes and exposes entries a lenient import kept but does not
serve (``Capability.unserved_parts``) go back to their places in their lists.

Every row of a capability is read with one query per model (``rows``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import yaml

from capabilities_app.store.layout import (
    CAPABILITY,
    GROUP_ORDER,
    IMPORTED_CONSUMES_KEYS,
    PARTS,
)
from capabilities_app.store.models import (
    Aggregate,
    AggregateFunction,
    Capability,
    ConsumedOperation,
    ConsumedResource,
    Consumes,
)
from capabilities_app.store.rows import Row, Rows
from capabilities_app.store.vocabulary import Children, Field, Group

__all__ = [
    "IMPORT_MARKER",
    "build_document",
    "dump_yaml",
    "export_yaml",
    "resolved_document",
]


IMPORT_MARKER = "__import__"


class _Writer:
    def __init__(self, capability: Capability, *, resolved: bool, inline_imports: bool) -> None:
        self.capability = capability
        self.rows = Rows({"": capability})
        self.resolved = resolved
        self.inline_imports = inline_imports or resolved
        # List path → [(index, entry as written)] of the parts kept but not served.
        self.unserved: dict[tuple[Any, ...], list[tuple[int, Any]]] = {}
        for held in capability.unserved_parts or []:
            *list_path, index = held["path"]
            self.unserved.setdefault(tuple(list_path), []).append((index, held["value"]))

    def call_name(self, operation_id: int) -> str:
        operation = self.rows.get(ConsumedOperation, operation_id)
        resource = self.rows.get(ConsumedResource, operation.resource_id)
        consumes = self.rows.get(Consumes, resource.consumes_id)
        return f"{consumes.namespace}.{operation.name}"

    def ref_name(self, function_id: int) -> str:
        function = self.rows.get(AggregateFunction, function_id)
        aggregate = self.rows.get(Aggregate, function.aggregate_id)
        return f"{aggregate.namespace}.{function.name}"

    def document(self) -> dict[str, Any]:
        return self.part(CAPABILITY, self.capability, path=())

    def part(self, part: Any, row: Row, path: tuple[Any, ...] | None = None) -> dict[str, Any]:
        """``row`` as a document part; ``path`` (the capability's only) places kept parts."""
        extra = dict(getattr(row, part.extra_attr) or {})
        if part.name == "consumes" and row.import_location and not self.inline_imports:
            return self.import_entry(row, extra)
        import_marker = extra.pop(IMPORT_MARKER, None)
        own_type = getattr(row, "type", None)
        values = self.members(part.members_for(own_type).values(), row, extra, path)
        result = _ordered(values, part.order, extra)
        if part.name == "consumes" and row.import_location and self.resolved:
            result[IMPORT_MARKER] = self.import_fields(row, import_marker or {})
        return result

    def import_fields(self, row: Row, unknown: dict[str, Any]) -> dict[str, Any]:
        fields = {
            "location": row.import_location,
            "import": row.import_name,
            "as": row.import_alias,
            "description": row.import_description,
        }
        result = {k: v for k, v in fields.items() if v is not None}
        result.update(unknown)
        return result

    def import_entry(self, row: Row, extra: dict[str, Any]) -> dict[str, Any]:
        return _ordered(
            self.import_fields(row, extra.get(IMPORT_MARKER) or {}), IMPORTED_CONSUMES_KEYS, {}
        )

    def members(
        self,
        members: Any,
        row: Row,
        extra: dict[str, Any],
        path: tuple[Any, ...] | None = None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for member in members:
            if isinstance(member, Field):
                value = self.field(member, row)
                if value is not None:
                    values[member.key] = value
            elif isinstance(member, Group):
                # extra holds the group's unknown keys ({} marks a group written empty),
                # or None for a group written as an explicit null.
                present = member.key in extra
                group_extra = extra.pop(member.key, None)
                inner_path = None if path is None else (*path, member.key)
                inner = self.members(member.members, row, {}, inner_path)
                if inner or isinstance(group_extra, dict):
                    order = GROUP_ORDER.get(member.key, ())
                    values[member.key] = _ordered(inner, order, group_extra or {})
                elif present:
                    values[member.key] = group_extra
            else:
                children = self.children(member, row)
                kept = self.unserved.get((*path, member.key)) if path is not None else None
                if kept:
                    children = _with_kept(self.rows.of(member, row), children or [], kept)
                if children:
                    values[member.key] = children
                    extra.pop(member.key, None)
        return values

    def field(self, member: Field, row: Row) -> Any:
        if member.kind == "call":
            target = getattr(row, f"{member.attr}_id")
            return None if target is None else self.call_name(target)
        if member.kind == "ref":
            target = getattr(row, f"{member.attr}_id")
            return None if target is None else self.ref_name(target)
        return getattr(row, member.attr)

    def children(self, member: Children, row: Row) -> Any:
        rows = self.rows.of(member, row)
        if not rows:
            return None
        if member.mapping:
            key_attr, value_attr = member.mapping
            return {getattr(r, key_attr): getattr(r, value_attr) for r in rows}
        if member.scalar_attr:
            return [getattr(r, member.scalar_attr) for r in rows]
        part = PARTS[member.part]
        return [self.part(part, r) for r in rows]


def _with_kept(rows: list[Row], items: list[Any], kept: list[tuple[int, Any]]) -> list[Any]:
    """A list's stored items and the entries kept as written, each at its position."""
    placed = [((row.position, 0), item) for row, item in zip(rows, items, strict=True)]
    placed += [((index, 1), copy.deepcopy(value)) for index, value in kept]
    return [item for _key, item in sorted(placed, key=lambda pair: pair[0])]


def _ordered(
    values: dict[str, Any], order: tuple[str, ...], extra: dict[str, Any]
) -> dict[str, Any]:
    """Known keys in spec order, then keys kept from the document as they came."""
    result = {key: values[key] for key in order if key in values}
    for key, value in values.items():
        result.setdefault(key, value)
    for key, value in extra.items():
        if key not in result:
            result[key] = value
    return result


def build_document(capability: Capability, *, inline_imports: bool = False) -> dict[str, Any]:
    """The capability as a document (imports stay references unless ``inline_imports``)."""
    return _Writer(capability, resolved=False, inline_imports=inline_imports).document()


def resolved_document(capability: Capability) -> dict[str, Any]:
    """The capability with imported consumes inlined and their import noted."""
    return _Writer(capability, resolved=True, inline_imports=True).document()


if TYPE_CHECKING:
    _BaseDumper = yaml.SafeDumper
else:  # libyaml's emitter, when PyYAML was built with it
    _BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):
    """Block style throughout; multi-line strings as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def export_yaml(capability: Capability, *, inline_imports: bool = False) -> str:
    """The capability as YAML text."""
    return dump_yaml(build_document(capability, inline_imports=inline_imports))
