"""The importer's write phase: a parsed document turned into rows, following ``layout``.

``RowBuilder`` builds unsaved model instances from a :class:`ParsedDocument` (each
key to its field, unknown keys to ``extra``, ``call``/``ref`` to the rows they name),
runs their field validators, and writes them with one bulk insert per model.
``importer`` decides whether and when; this module only builds and writes.

Imports models, ``layout``, ``exporter`` (the import marker) and ``specs``; nothing
above the store.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from capabilities_app.core.errors import Diagnostic, SpecError
from capabilities_app.store import exporter
from capabilities_app.store.layout import (
    CAPABILITY,
    CONSUMES,
    IMPORTED_CONSUMES_KEYS,
    PARTS,
)
from capabilities_app.store.loader import KeyPath, Source
from capabilities_app.store.models import Capability
from capabilities_app.store.rows import Row
from capabilities_app.store.specs import ConsumesEntry, ParsedDocument
from capabilities_app.store.vocabulary import Children, Field, Group

__all__ = ["WRITE_ORDER", "RowBuilder"]

# Models in the order their rows must be written (foreign-key targets first).
WRITE_ORDER = (
    "capability_tag",
    "bind",
    "bind_key",
    "consumes",
    "consumed_resource",
    "consumed_operation",
    "consumed_parameter",
    "consumed_output_parameter",
    "aggregate",
    "aggregate_function",
    "expose",
    "exposed_resource",
    "exposed_operation",
    "exposed_parameter",
    "tool",
    "tool_parameter",
    "mcp_resource",
    "mcp_prompt",
)


class RowBuilder:
    """Turns a parsed document into unsaved model instances, following ``layout``."""

    def __init__(self, parsed: ParsedDocument, existing: Capability | None) -> None:
        self.parsed = parsed
        self.rows: dict[str, list[Row]] = defaultdict(list)
        self.by_path: dict[KeyPath, Row] = {}
        self.located: list[tuple[Row, Any, Source, KeyPath]] = []
        self.links: list[tuple[Row, str, KeyPath]] = []
        self.entries: dict[KeyPath, ConsumesEntry] = {e.doc_path: e for e in parsed.consumes}
        self.capability = existing or Capability(name=parsed.name)

    def build(self) -> None:
        capability = self.capability
        for member in _fields(CAPABILITY.members):
            setattr(capability, member.attr, None)
        capability.extra = {}
        capability.kind = self.parsed.kind
        capability.unserved_parts = [
            {"path": list(path), "reason": reason, "value": copy.deepcopy(_at(self.parsed, path))}
            for path, reason in sorted(self.parsed.held.items(), key=lambda item: _order(item[0]))
        ]
        self.fill(CAPABILITY, capability, self.parsed.data, (), self.parsed.source, ())
        # The loop above set every field to None, which the model's type (str) does not say.
        if cast("str | None", capability.spec_version) is None:
            capability.spec_version = self.parsed.version
        for row, attr, target in self.links:
            setattr(row, attr, self.by_path[target])

    def fill(
        self,
        part: Any,
        row: Row,
        data: dict[str, Any],
        path: KeyPath,
        source: Source,
        source_path: KeyPath,
    ) -> None:
        """Set ``row``'s fields from ``data`` and build its children."""
        self.located.append((row, part, source, source_path))
        extra = getattr(row, part.extra_attr)
        own_type = data.get("type") if isinstance(data.get("type"), str) else None
        members = part.members_for(own_type)
        for key, value in data.items():
            member = members.get(key)
            if member is None or value is None or (isinstance(member, Children) and not value):
                extra[key] = value  # kept as written: unknown, null, or an empty list
            else:
                self.member(member, row, value, (*path, key), source, (*source_path, key), extra)

    def member(
        self,
        member: Any,
        row: Row,
        value: Any,
        path: KeyPath,
        source: Source,
        source_path: KeyPath,
        extra: dict[str, Any],
    ) -> None:
        if isinstance(member, Field):
            targets = {"call": self.parsed.call_targets, "ref": self.parsed.ref_targets}
            if member.kind in targets:
                target = targets[member.kind].get(path)
                if target is None:
                    # A lenient import: the call or ref names nothing here. Kept as written;
                    # the part answers 503 when called (catalog).
                    extra[member.key] = value
                else:
                    self.links.append((row, member.attr, target))
            else:
                setattr(row, member.attr, value)
        elif isinstance(member, Group):
            group_members = {m.key: m for m in member.members}
            unknown: dict[str, Any] = {}
            for key, item in value.items():
                inner = group_members.get(key)
                if inner is None or item is None or (isinstance(inner, Children) and not item):
                    unknown[key] = item
                else:
                    self.member(
                        inner, row, item, (*path, key), source, (*source_path, key), unknown
                    )
            extra[member.key] = unknown
        else:
            self.children(member, row, value, path, source, source_path)

    def children(
        self,
        member: Children,
        parent: models.Model,
        value: Any,
        path: KeyPath,
        source: Source,
        source_path: KeyPath,
    ) -> None:
        part = PARTS[member.part]
        model = apps.get_model("capabilities_app", part.model)
        base = {member.parent_attr: parent, **dict(member.fixed)}
        if member.mapping:
            key_attr, value_attr = member.mapping
            for i, (key, item) in enumerate(value.items()):
                row = model(**base, position=i, **{key_attr: key, value_attr: item})
                self.add(part, row, (*path, key), source, (*source_path, key))
            return
        if member.scalar_attr:
            for i, item in enumerate(value):
                row = model(**base, position=i, **{member.scalar_attr: item})
                self.add(part, row, (*path, i), source, (*source_path, i))
            return
        for i, item in enumerate(value):
            item_path = (*path, i)
            if item_path in self.parsed.held:
                continue  # kept as written in Capability.unserved_parts (its index kept too)
            row = model(**base, position=i, extra={})
            self.add(part, row, item_path, source, (*source_path, i), located=False)
            entry = self.entries.get(item_path) if part is CONSUMES else None
            if entry is not None and entry.import_entry is not None:
                self.imported_consumes(row, entry)
            else:
                self.fill(part, row, item, item_path, source, (*source_path, i))

    def imported_consumes(self, row: Row, entry: ConsumesEntry) -> None:
        self.fill(CONSUMES, row, entry.data, entry.doc_path, entry.source, entry.data_path)
        fields = entry.import_entry or {}
        row.import_location = fields.get("location")
        row.import_name = fields.get("import")
        row.import_alias = fields.get("as")
        row.import_description = fields.get("description")
        row.import_sha256 = entry.source.sha256
        unknown = {k: v for k, v in fields.items() if k not in IMPORTED_CONSUMES_KEYS}
        if unknown:
            row.extra[exporter.IMPORT_MARKER] = unknown

    def add(
        self,
        part: Any,
        row: Row,
        path: KeyPath,
        source: Source,
        source_path: KeyPath,
        *,
        located: bool = True,
    ) -> None:
        self.rows[part.name].append(row)
        self.by_path[path] = row
        if located:
            self.located.append((row, part, source, source_path))

    def validate(self) -> None:
        """Run each row's field validators (no queries); report at the document's keys."""
        errors: list[Diagnostic] = []
        for row, part, source, path in self.located:
            exclude = _foreign_keys(type(row))
            try:
                row.clean_fields(exclude=exclude)
            except ValidationError as exc:
                keys = _keys_by_attr(part)
                for attr, messages in exc.message_dict.items():
                    key = keys.get(attr, attr)
                    for message in messages:
                        errors.append(
                            source.diagnostic("error", "invalid_value", (*path, key), message)
                        )
        if errors:
            raise SpecError(errors)

    def write(self) -> None:
        for name in WRITE_ORDER:
            rows = self.rows.get(name)
            if rows:
                type(rows[0]).objects.bulk_create(rows)


def _at(parsed: ParsedDocument, path: KeyPath) -> Any:
    value: Any = parsed.data
    for key in path:
        value = value[key]
    return value


def _order(path: KeyPath) -> tuple[Any, ...]:
    return tuple((0, k) if isinstance(k, int) else (1, str(k)) for k in path)


def _fields(members: Iterable[Any]) -> Iterable[Field]:
    for member in members:
        if isinstance(member, Field):
            yield member
        elif isinstance(member, Group):
            yield from _fields(member.members)


def _keys_by_attr(part: Any) -> dict[str, str]:
    keys = {f.attr: f.key for f in _fields(part.members)}
    keys.update({"position": "position", "extra": "extra"})
    return keys


_FOREIGN_KEYS: dict[type, list[str]] = {}


def _foreign_keys(model: type[models.Model]) -> list[str]:
    if model not in _FOREIGN_KEYS:
        _FOREIGN_KEYS[model] = [
            f.name for f in model._meta.get_fields() if isinstance(f, models.ForeignKey)
        ] + ["id"]
    return _FOREIGN_KEYS[model]
