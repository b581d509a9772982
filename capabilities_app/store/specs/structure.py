"""The structure walk: does each value have the shape ``layout`` needs to store it?

Missing keys, wrong value types, unknown values, duplicate names; in lenient mode a
consumes or expose entry of an unknown ``type`` is held (kept as written, not served).

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capabilities_app.core.errors import DiagnosticList
from capabilities_app.store import layout
from capabilities_app.store.layout import CAPABILITY, CONSUMES, PARTS
from capabilities_app.store.loader import KeyPath, Source
from capabilities_app.store.vocabulary import Children, Field, Group, Part

__all__ = ["StructureChecker"]


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), "a number"
    )


_KIND_TEST: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "scalar": lambda v: isinstance(v, str | int | float | bool),
    "json": lambda v: True,
    "call": lambda v: isinstance(v, str),
    "ref": lambda v: isinstance(v, str),
}
_KIND_NAME = {
    "str": "text",
    "int": "an integer",
    "bool": "true or false",
    "scalar": "text, a number or a boolean",
    "call": "text (namespace.operation)",
    "ref": "text (namespace.function)",
}


class StructureChecker:
    """Checks that values have the shape ``layout`` needs to store them.

    With ``held`` (lenient mode), a consumes or expose entry whose ``type`` the
    registry does not know is not checked further: it is recorded there, to be kept
    as written, with a warning.
    """

    def __init__(
        self, source: Source, diags: DiagnosticList, *, held: dict[KeyPath, str] | None = None
    ) -> None:
        self.source = source
        self.diags = diags
        self.held = held

    def error(self, path: KeyPath, code: str, message: str) -> None:
        self.diags.add(self.source.diagnostic("error", code, path, message))

    def check_root(self) -> None:
        self.check_part(CAPABILITY, self.source.data, ())

    def check_part(self, part: Part, data: Any, path: KeyPath) -> None:
        if not isinstance(data, dict):
            self.error(path, "wrong_type", f"expected a mapping, found {_describe(data)}")
            return
        if part is CONSUMES and "import" in data:
            self.check_import_entry(data, path)
            return
        own_type = data.get("type") if isinstance(data.get("type"), str) else None
        members = part.members_for(own_type)
        self.check_members(members.values(), data, path)
        namespace = data.get("namespace")
        needs_namespace = part.name == "expose" and own_type in ("rest", "mcp", "skill")
        if needs_namespace and (not isinstance(namespace, str) or not namespace):
            self.error(path, "missing_key", f"a {own_type} expose needs a 'namespace'")

    def check_members(self, members: Any, data: dict[str, Any], path: KeyPath) -> None:
        for member in members:
            value = data.get(member.key)
            member_path = (*path, member.key)
            if isinstance(member, Field):
                self.check_field(member, value, member_path, present=member.key in data)
            elif isinstance(member, Group):
                if value is None:
                    continue
                if not isinstance(value, dict):
                    self.error(
                        member_path, "wrong_type", f"expected a mapping, found {_describe(value)}"
                    )
                    continue
                self.check_members(member.members, value, member_path)
            elif value is not None:
                self.check_children(member, value, member_path)

    def check_field(self, member: Field, value: Any, path: KeyPath, *, present: bool) -> None:
        if value is None:
            if member.required:
                what = "is empty" if present else "is missing"
                self.error(path, "missing_key", f"required key '{member.key}' {what}")
            return
        if not _KIND_TEST[member.kind](value):
            self.error(
                path,
                "wrong_type",
                f"expected {_KIND_NAME[member.kind]}, found {_describe(value)}",
            )
            return
        if member.choices and value not in member.choices:
            self.error(
                path,
                "unknown_value",
                f"unsupported {member.key} {value!r}; the registry supports: "
                + ", ".join(member.choices),
            )

    def check_children(self, member: Children, value: Any, path: KeyPath) -> None:
        if member.mapping:
            if not isinstance(value, dict):
                self.error(path, "wrong_type", f"expected a mapping, found {_describe(value)}")
                return
            for key, item in value.items():
                if not isinstance(item, str):
                    self.error(
                        (*path, key), "wrong_type", f"expected text, found {_describe(item)}"
                    )
            return
        if not isinstance(value, list):
            self.error(path, "wrong_type", f"expected a list, found {_describe(value)}")
            return
        if member.scalar_attr:
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    self.error((*path, i), "wrong_type", f"expected text, found {_describe(item)}")
            return
        part = PARTS[member.part]
        for i, item in enumerate(value):
            if self.hold_unknown_type(part, item, (*path, i)):
                continue
            self.check_part(part, item, (*path, i))
        self.check_unique(part, value, path)

    def hold_unknown_type(self, part: Part, item: Any, path: KeyPath) -> bool:
        """Lenient mode: hold a consumes or expose entry of a type the registry lacks."""
        if self.held is None or part not in (CONSUMES, layout.EXPOSE):
            return False
        kind = item.get("type") if isinstance(item, dict) else None
        type_field = part.members_by_key["type"]
        if not isinstance(kind, str) or not isinstance(type_field, Field):
            return False
        if kind in type_field.choices:
            return False
        what = "consumes" if part is CONSUMES else "expose"
        message = (
            f"unsupported {what} type {kind!r}; the registry supports: "
            + ", ".join(type_field.choices)
            + f". The {what} entry is kept as written (and exported) but not served"
        )
        self.held[path] = message
        self.diags.add(
            self.source.diagnostic("warning", "kept_not_served", (*path, "type"), message)
        )
        return True

    def check_unique(self, part: Part, items: list[Any], path: KeyPath) -> None:
        if not part.unique:
            return
        seen: dict[tuple[Any, ...], int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            key = tuple(item.get(k) for k in part.unique)
            if any(v is None or isinstance(v, dict | list) for v in key):
                continue
            if key in seen:
                first_line, _ = self.source.locate((*path, seen[key]))
                shown = ", ".join(f"{k} {v!r}" for k, v in zip(part.unique, key, strict=True))
                self.error(
                    (*path, i, part.unique[0]),
                    "duplicate_name",
                    f"duplicate {shown} (first at line {first_line})",
                )
            else:
                seen[key] = i

    def check_import_entry(self, data: dict[str, Any], path: KeyPath) -> None:
        for key in ("location", "import"):
            if not isinstance(data.get(key), str) or not data.get(key):
                self.error((*path, key), "missing_key", f"an imported consumes needs '{key}'")
        for key in ("as", "description"):
            if key in data and not isinstance(data[key], str):
                self.error(
                    (*path, key), "wrong_type", f"expected text, found {_describe(data[key])}"
                )
