"""Reading a capability document: version, structure, imports, schema and semantic checks.

``parse_document`` takes a loaded :class:`~capabilities_app.store.loader.Source` and returns a
:class:`ParsedDocument` the importer can write, or raises :class:`SpecError` listing
every problem with its file, line, column and key path. It accepts both dialects
found in the wild (RUNTIME-CONTRACT §1):

- **lenient** (the default): deviations from the official JSON Schema, such as the
  catalog dialect's ``type``/``required`` on consumed parameters, are warnings;
- **strict**: the official schema of the document's version must pass, and
  undeclared bind variables and the spec's namespace rule are errors.

Whatever the mode, what the registry cannot store is an error: unsupported versions,
missing keys, wrong value types, duplicate names, an unreadable import. What it can
store but not serve is an error in strict mode; a lenient import keeps it as written
(so the export gives it back) with a located warning, and serves the rest:

- a consumes or expose entry of a type the registry does not know, and a consumes
  namespace declared again (the first declaration serves), are *held*: kept verbatim
  in ``ParsedDocument.held`` and not stored as parts;
- a ``call`` or ``ref`` to something the document lacks is kept as written on its part,
  which answers 503 ``operation_not_served`` when called (``catalog``).

A ``with`` reference to a caller parameter the tool or operation does not declare
(RUNTIME-CONTRACT §3) is an error in strict mode and a warning otherwise.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

from capabilities_app.core.errors import Diagnostic, DiagnosticList, SpecError
from capabilities_app.core.locations import location_path
from capabilities_app.store import layout
from capabilities_app.store.layout import CAPABILITY, CONSUMES, PARTS, Children, Field, Group
from capabilities_app.store.loader import KeyPath, Source, format_key_path, read_source

ImportResolver = Callable[[Source, str, str], Source]
"""``(importing source, location, import name) → the source that defines it``."""

_MUSTACHE = re.compile(r"\{\{\s*([^{}#^/!>&\s][^{}]*?)\s*\}\}")
_BIND_VARIABLE = re.compile(layout.BIND_VARIABLE_PATTERN)
_SECRET_FIELDS = {"token", "password", "value"}
_MAX_IMPORT_DEPTH = 5


@dataclass
class ConsumesEntry:
    """A consumes block as the registry sees it: inline, or taken from another document."""

    doc_path: KeyPath  # where the entry sits in the document
    scope: str  # "root" or "capability"
    data: dict[str, Any]  # the consumes block (for imports: the imported one, renamed)
    source: Source  # the document that holds ``data``
    data_path: KeyPath  # where ``data`` sits in ``source``
    import_entry: dict[str, Any] | None = None  # {location, import, as?, description?}

    @property
    def namespace(self) -> str:
        return self.data.get("namespace", "")


@dataclass
class ParsedDocument:
    """A checked document: what the importer writes and the unchanged check compares."""

    source: Source
    name: str
    version: str
    kind: str  # "capability" or "consumes"
    consumes: list[ConsumesEntry]
    call_targets: dict[KeyPath, KeyPath]  # call key path → operation path (resolved form)
    ref_targets: dict[KeyPath, KeyPath]  # ref key path → function path
    warnings: list[Diagnostic] = field(default_factory=list)
    # Entries of the capability's consumes/exposes lists kept as written, not served
    # (lenient mode only): their path → why.
    held: dict[KeyPath, str] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        return self.source.data

    def resolved(self) -> dict[str, Any]:
        """The document with each imported consumes block inlined (and its import noted).

        Two documents that import to the same database state have equal resolved forms;
        the exporter builds the same form from the database.
        """
        result = copy.deepcopy(self.data)
        for entry in self.consumes:
            if entry.import_entry is None:
                continue
            target: Any = result
            for key in entry.doc_path[:-1]:
                target = target[key]
            target[entry.doc_path[-1]] = {
                **copy.deepcopy(entry.data),
                "__import__": dict(entry.import_entry),
            }
        return result

    @property
    def operation_count(self) -> int:
        return sum(
            len(r.get("operations") or [])
            for entry in self.consumes
            for r in (entry.data.get("resources") or [])
            if isinstance(r, dict)
        )

    @property
    def tool_count(self) -> int:
        exposes = (self.data.get("capability") or {}).get("exposes") or []
        return sum(len(e.get("tools") or []) for e in exposes if e.get("type") == "mcp")


# --------------------------------------------------------------------------- entry point


def parse_document(
    source: Source,
    *,
    name: str,
    strict: bool = False,
    resolve_import: ImportResolver | None = None,
) -> ParsedDocument:
    """Check ``source`` and return what the importer needs; raise SpecError on errors."""
    diags = DiagnosticList()
    data = source.data
    version = _check_header(source, diags)
    if diags.errors:
        raise SpecError(diags.items)
    if not re.match(layout.NAME_PATTERN, name):
        diags.add(
            source.diagnostic(
                "error",
                "invalid_name",
                (),
                f"capability name {name!r} is not valid: use letters, digits, '.', '_' and "
                "'-', starting with a letter or digit (set it with --name)",
            )
        )
    kind = "capability" if "capability" in data else "consumes"
    held: dict[KeyPath, str] = {}
    _StructureChecker(source, diags, held=None if strict else held).check_root()
    if diags.errors:
        raise SpecError(diags.items)

    consumes = _resolve_consumes(source, resolve_import, diags, held)
    if diags.errors:
        raise SpecError(diags.items)

    severity = "error" if strict else "warning"
    checked: set[str] = set()
    for src in [source, *(e.source for e in consumes if e.import_entry is not None)]:
        if src.origin in checked:
            continue
        checked.add(src.origin)
        diags.extend(schema_diagnostics(src, severity))

    semantic = _SemanticChecker(source, consumes, diags, strict=strict, held=held)
    semantic.run()
    if diags.errors:
        raise SpecError(diags.items)
    return ParsedDocument(
        source=source,
        name=name,
        version=version,
        kind=kind,
        consumes=semantic.consumes,
        call_targets=semantic.call_targets,
        ref_targets=semantic.ref_targets,
        warnings=_without_findings_inside(diags.warnings, held),
        held=held,
    )


def _without_findings_inside(
    warnings: list[Diagnostic], held: dict[KeyPath, str]
) -> list[Diagnostic]:
    """The warnings, less schema findings inside held parts (their one warning says why)."""
    if not held:
        return warnings
    prefixes = tuple(format_key_path(path) for path in held)

    def inside(key_path: str) -> bool:
        return any(
            key_path.startswith((f"{prefix}.", f"{prefix}[")) or key_path == prefix
            for prefix in prefixes
        )

    return [w for w in warnings if not (w.code.startswith("schema.") and inside(w.key_path))]


def _check_header(source: Source, diags: DiagnosticList) -> str:
    data = source.data
    if not isinstance(data, dict):
        diags.add(
            source.diagnostic(
                "error", "not_a_mapping", (), "a capability document is a YAML mapping"
            )
        )
        return ""
    if "ikanos" in data:
        diags.add(
            source.diagnostic(
                "error",
                "unsupported_version",
                ("ikanos",),
                f"this is an Ikanos document (ikanos: {data['ikanos']}), the map-based "
                "successor format; the registry reads the list-based naftiko "
                f"{' and '.join(layout.SUPPORTED_VERSIONS)}",
            )
        )
        return ""
    if "naftiko" not in data:
        diags.add(
            source.diagnostic(
                "error",
                "not_naftiko",
                (),
                "not a Naftiko document: there is no top-level 'naftiko' version key",
            )
        )
        return ""
    version = str(data["naftiko"])
    if version not in layout.SUPPORTED_VERSIONS:
        diags.add(
            source.diagnostic(
                "error",
                "unsupported_version",
                ("naftiko",),
                f"unsupported naftiko version {version!r}; the registry reads "
                f"{' and '.join(layout.SUPPORTED_VERSIONS)}",
            )
        )
    if not isinstance(data["naftiko"], str):
        diags.add(
            source.diagnostic(
                "error", "wrong_type", ("naftiko",), "the naftiko version must be text"
            )
        )
    if "capability" not in data and "consumes" not in data:
        diags.add(
            source.diagnostic(
                "error",
                "missing_key",
                (),
                "a document needs 'capability' (or, for a shared consumes document, "
                "a top-level 'consumes' list)",
            )
        )
    return version


# --------------------------------------------------------------------------- structure


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


class _StructureChecker:
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

    def check_part(self, part: layout.Part, data: Any, path: KeyPath) -> None:
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

    def hold_unknown_type(self, part: layout.Part, item: Any, path: KeyPath) -> bool:
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

    def check_unique(self, part: layout.Part, items: list[Any], path: KeyPath) -> None:
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


# --------------------------------------------------------------------------- imports


def _consumes_lists(data: dict[str, Any]) -> Iterator[tuple[str, KeyPath, list[Any]]]:
    if isinstance(data.get("consumes"), list):
        yield "root", ("consumes",), data["consumes"]
    capability = data.get("capability")
    if isinstance(capability, dict) and isinstance(capability.get("consumes"), list):
        yield "capability", ("capability", "consumes"), capability["consumes"]


def _resolve_consumes(
    source: Source,
    resolve_import: ImportResolver | None,
    diags: DiagnosticList,
    held: dict[KeyPath, str] | None = None,
) -> list[ConsumesEntry]:
    entries: list[ConsumesEntry] = []
    for scope, list_path, items in _consumes_lists(source.data):
        for i, item in enumerate(items):
            path = (*list_path, i)
            if held and path in held:
                continue
            if "import" not in item:
                entries.append(ConsumesEntry(path, scope, item, source, path))
                continue
            resolved = _resolve_import(source, path, item, resolve_import, diags, depth=0)
            if resolved is None:
                continue
            target_source, target_path, target = resolved
            data = dict(target)
            if item.get("as"):
                data["namespace"] = item["as"]
            entries.append(
                ConsumesEntry(
                    path,
                    scope,
                    data,
                    target_source,
                    target_path,
                    import_entry=dict(item),
                )
            )
    return entries


def _resolve_import(
    source: Source,
    path: KeyPath,
    item: dict[str, Any],
    resolve_import: ImportResolver | None,
    diags: DiagnosticList,
    *,
    depth: int,
) -> tuple[Source, KeyPath, dict[str, Any]] | None:
    location, name = item["location"], item["import"]

    def fail(code: str, message: str) -> None:
        diags.add(source.diagnostic("error", code, (*path, "location"), message))

    if resolve_import is None:
        fail("import_unavailable", f"cannot resolve import {name!r} from {location!r} here")
        return None
    if depth >= _MAX_IMPORT_DEPTH:
        fail("import_too_deep", f"imports nest deeper than {_MAX_IMPORT_DEPTH} levels")
        return None
    try:
        target = resolve_import(source, location, name)
    except SpecError as exc:
        for d in exc.diagnostics:
            fail(d.code, f"cannot import {name!r} from {location!r}: {d.key_path}: {d.message}")
        return None
    sub = DiagnosticList()
    _check_header(target, sub)
    if sub.errors:
        fail(
            "import_invalid",
            f"{location!r} is not a document the registry reads: {sub.errors[0].message}",
        )
        return None
    available: list[str] = []
    for _scope, list_path, items in _consumes_lists(target.data):
        for i, candidate in enumerate(items):
            if not isinstance(candidate, dict):
                continue
            candidate_name = (
                candidate.get("as") or candidate.get("namespace") or candidate.get("import")
            )
            available.append(str(candidate_name))
            if candidate_name != name:
                continue
            candidate_path = (*list_path, i)
            checker = _StructureChecker(target, diags)
            checker.check_part(CONSUMES, candidate, candidate_path)
            if "import" in candidate:
                return _resolve_import(
                    target, candidate_path, candidate, resolve_import, diags, depth=depth + 1
                )
            return target, candidate_path, candidate
    fail(
        "import_not_found",
        f"{location!r} has no consumes namespace {name!r}"
        + (f" (it has: {', '.join(available)})" if available else " (it has no consumes)"),
    )
    return None


def file_import_resolver(*, max_bytes: int) -> ImportResolver:
    """Resolve ``location`` as a file path relative to the importing file."""

    def resolve(importing: Source, location: str, _name: str) -> Source:
        # The importing file's folder is always known here, so the path always is.
        target = location_path(location, Path(importing.origin).parent) or Path(location)
        return read_source(target, origin=str(target), max_bytes=max_bytes)

    return resolve


# --------------------------------------------------------------------------- schema

SCHEMA_FINDINGS_LIMIT = 1000
_EXPOSE_DEFS = {
    "rest": "ExposesRest",
    "mcp": "ExposesMcp",
    "skill": "ExposesSkill",
    "control": "ExposesControl",
}


@functools.cache
def _schema(version: str) -> dict[str, Any]:
    schema_file = resources.files("capabilities_app") / "schemas" / f"naftiko-schema-{version}.json"
    return json.loads(schema_file.read_text(encoding="utf-8"))


@functools.cache
def _validator(version: str, definition: str | None) -> Any:
    """A validator for the whole schema, or for one of its ``$defs``.

    ``definition=None`` is the root with the consumes and exposes items left open:
    those are validated one by one against the branch their discriminator names,
    which gives the same verdict as the schema's ``oneOf`` at a fraction of the cost
    and with messages about the right branch.
    """
    schema = _schema(version)
    if definition is not None:
        return jsonschema_rs.validator_for(
            {
                "$schema": schema["$schema"],
                "$defs": schema["$defs"],
                "$ref": f"#/$defs/{definition}",
            }
        )
    root = copy.deepcopy(schema)
    root["properties"]["consumes"]["items"] = {}
    capability = root["$defs"]["Capability"]["properties"]
    capability["consumes"]["items"] = {}
    capability["exposes"]["items"] = {}
    return jsonschema_rs.validator_for(root)


def _schema_units(data: Any) -> Iterator[tuple[KeyPath, str | None, Any]]:
    """``(path, $defs name or None for the root, value)`` for each unit to validate."""
    yield (), None, data
    if not isinstance(data, dict):
        return
    for _scope, list_path, items in _consumes_lists(data):
        for i, item in enumerate(items):
            is_import = isinstance(item, dict) and "import" in item
            yield (*list_path, i), "ImportedConsumesHttp" if is_import else "ConsumesHttp", item
    capability = data.get("capability")
    exposes = capability.get("exposes") if isinstance(capability, dict) else None
    for i, expose in enumerate(exposes if isinstance(exposes, list) else []):
        kind = expose.get("type") if isinstance(expose, dict) else None
        yield ("capability", "exposes", i), _EXPOSE_DEFS.get(kind, "ExposesRest"), expose


def _leaf_errors(error: Any) -> list[Any]:
    """The errors worth showing: inside oneOf/anyOf, those of the branch that fits best."""
    branches = [b for b in (getattr(error.kind, "context", None) or []) if b]
    if not branches:
        return [error]

    def badness(errors: list[Any]) -> tuple[int, int, int]:
        # A branch whose discriminator (``type``) does not match is the wrong branch.
        mismatched = any(
            isinstance(e.kind, _DISCRIMINATOR_KINDS)
            and e.instance_path
            and e.instance_path[-1] == "type"
            for e in errors
        )
        depth = max(len(e.instance_path) for e in errors)
        return (int(mismatched), -depth, len(errors))

    best = min(branches, key=badness)
    return [leaf for sub in best for leaf in _leaf_errors(sub)]


_DISCRIMINATOR_KINDS = (
    jsonschema_rs.ValidationErrorKind.Constant,
    jsonschema_rs.ValidationErrorKind.Enum,
)


def schema_diagnostics(source: Source, severity: str) -> list[Diagnostic]:
    """Check ``source`` against the official JSON Schema of its declared version."""
    version = str(source.data.get("naftiko")) if isinstance(source.data, dict) else ""
    if version not in layout.SUPPORTED_VERSIONS:
        return []
    result: list[Diagnostic] = []
    seen: set[tuple[KeyPath, str]] = set()
    for base, definition, value in _schema_units(source.data):
        for error in _validator(version, definition).iter_errors(value):
            for leaf in _leaf_errors(error):
                path = (*base, *leaf.instance_path)
                if (path, leaf.message) in seen:
                    continue
                seen.add((path, leaf.message))
                result.append(
                    source.diagnostic(
                        severity,
                        f"schema.{leaf.kind.name}",
                        path,
                        f"not valid under the {version} schema: {leaf.message}",
                    )
                )
            if len(result) >= SCHEMA_FINDINGS_LIMIT:
                result.append(
                    source.diagnostic(
                        severity,
                        "schema.limit",
                        (),
                        f"the schema check stopped after {SCHEMA_FINDINGS_LIMIT} findings",
                    )
                )
                return result
    return result


# --------------------------------------------------------------------------- semantics


@dataclass
class _Operation:
    path: KeyPath  # in the resolved document
    namespace: str
    name: str
    method: str
    description: str
    resource_path: str
    parameters: frozenset[str]


def normalise(name: str) -> str:
    """Caller parameter names compared loosely (§3): lower case, no ``-`` or ``_``."""
    return name.lower().replace("-", "").replace("_", "")


def path_variables(path: str) -> list[str]:
    """The ``{x}`` and ``{{x}}`` variables of a resource path."""
    return [m.strip() for m in re.findall(r"\{\{?\s*([^{}]+?)\s*\}?\}", path)]


def _declared_names(parameters: Any) -> list[str]:
    return [
        p["name"]
        for p in parameters or []
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]


def dangling_references(
    values: Any, prefixes: tuple[str, ...], names: list[str]
) -> Iterator[tuple[KeyPath, str]]:
    """``(key path inside values, reference)`` for each ``PREFIX.x`` whose ``x`` is none of
    ``names`` (compared normalised, §3). Nested mappings are walked as the runtime does."""
    if not isinstance(values, dict):
        return
    known = {normalise(n) for n in names}
    for key, value in values.items():
        if isinstance(value, dict):
            for inner, reference in dangling_references(value, prefixes, names):
                yield (key, *inner), reference
            continue
        if not isinstance(value, str):
            continue
        prefix, dot, name = value.partition(".")
        if dot and prefix in prefixes and name and normalise(name) not in known:
            yield (key,), value


def dangling_message(reference: str, label: str, names: list[str]) -> str:
    shown = ", ".join(dict.fromkeys(n for n in names if n != "body"))
    return (
        f"{reference} names no parameter of {label} (it declares: {shown}); the call would "
        "never receive a value for it"
    )


def _normal_path(path: str) -> str:
    path = re.sub(r"\{\{?[^{}]*\}?\}", "{}", path.lower())
    return path.replace("_", "-").rstrip("/")


class _SemanticChecker:
    """Checks what spans parts: calls, refs, namespaces, binds, secrets."""

    def __init__(
        self,
        source: Source,
        consumes: list[ConsumesEntry],
        diags: DiagnosticList,
        *,
        strict: bool,
        held: dict[KeyPath, str] | None = None,
    ) -> None:
        self.source = source
        self.consumes = list(consumes)  # less the repeated namespaces held in lenient mode
        self.diags = diags
        self.strict = strict
        self.held: dict[KeyPath, str] = held if held is not None else {}
        self.call_targets: dict[KeyPath, KeyPath] = {}
        self.ref_targets: dict[KeyPath, KeyPath] = {}
        self.operations: dict[tuple[str, str], list[_Operation]] = defaultdict(list)
        self.namespaces: dict[str, list[str]] = defaultdict(list)
        capability = source.data.get("capability")
        self.capability = capability if isinstance(capability, dict) else {}

    def report(self, severity: str, code: str, path: KeyPath, message: str) -> None:
        self.diags.add(self.source.diagnostic(severity, code, path, message))

    @property
    def unserved(self) -> str:
        """What cannot be served: refused in strict mode, a warning otherwise."""
        return "error" if self.strict else "warning"

    def run(self) -> None:
        self.check_consumes_namespaces()
        self.index_operations()
        functions = self.index_functions()
        for path, owner, context in self.callers():
            if "call" in owner:
                self.resolve_call(path, owner, context)
            if "ref" in owner:
                self.resolve_ref(path, owner, functions)
            for i, step in enumerate(owner.get("steps") or []):
                if isinstance(step, dict) and isinstance(step.get("call"), str):
                    self.resolve_call((*path, "steps", i), step, context, store=False)
        self.check_exposes()
        self.check_with_references()
        self.check_binds()
        self.check_secrets()

    def exposes(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """The capability's exposes that are not held (index, expose)."""
        for ei, expose in enumerate(self.capability.get("exposes") or []):
            if ("capability", "exposes", ei) not in self.held:
                yield ei, expose

    # -- indexes

    def index_operations(self) -> None:
        for entry in self.consumes:
            namespace = entry.namespace
            for ri, resource in enumerate(entry.data.get("resources") or []):
                for oi, op in enumerate(resource.get("operations") or []):
                    params = frozenset(
                        p.get("name")
                        for p in [
                            *(op.get("inputParameters") or []),
                            *(resource.get("inputParameters") or []),
                        ]
                        if isinstance(p, dict)
                    )
                    self.operations[(namespace, op["name"])].append(
                        _Operation(
                            path=(*entry.doc_path, "resources", ri, "operations", oi),
                            namespace=namespace,
                            name=op["name"],
                            method=op["method"],
                            description=str(op.get("description") or ""),
                            resource_path=str(resource.get("path") or ""),
                            parameters=params,
                        )
                    )

    def check_consumes_namespaces(self) -> None:
        """A namespace declared again: an error, or (lenient) the first declaration serves
        and the others are held, kept as written."""
        seen: dict[str, KeyPath] = {}
        served: list[ConsumesEntry] = []
        for entry in self.consumes:
            if entry.namespace in seen:
                line, _ = self.source.locate((*seen[entry.namespace], "namespace"))
                message = (
                    f"consumes namespace {entry.namespace!r} is declared again (first at line "
                    f"{line}); a call could not tell them apart"
                )
                if not self.strict:
                    message += (
                        ". The first declaration serves; this one is kept as written "
                        "(and exported) but not served"
                    )
                    self.held[entry.doc_path] = message
                self.report(
                    self.unserved, "duplicate_namespace", (*entry.doc_path, "namespace"), message
                )
                if not self.strict:
                    continue
            else:
                seen[entry.namespace] = entry.doc_path
            served.append(entry)
            self.namespaces[entry.namespace].append("consumes")
        self.consumes = served

    def index_functions(self) -> dict[tuple[str, str], KeyPath]:
        functions: dict[tuple[str, str], KeyPath] = {}
        for ai, aggregate in enumerate(self.capability.get("aggregates") or []):
            self.namespaces[aggregate["namespace"]].append("aggregates")
            for fi, function in enumerate(aggregate.get("functions") or []):
                functions[(aggregate["namespace"], function["name"])] = (
                    "capability",
                    "aggregates",
                    ai,
                    "functions",
                    fi,
                )
        return functions

    def callers(self) -> Iterator[tuple[KeyPath, dict[str, Any], dict[str, Any]]]:
        """Every object that may ``call`` or ``ref``, with what helps disambiguate a call."""
        base: KeyPath = ("capability",)
        for ei, expose in self.exposes():
            kind = expose.get("type")
            if kind == "rest":
                for ri, resource in enumerate(expose.get("resources") or []):
                    for oi, op in enumerate(resource.get("operations") or []):
                        path = (*base, "exposes", ei, "resources", ri, "operations", oi)
                        yield (
                            path,
                            op,
                            {
                                "method": op.get("method"),
                                "path": resource.get("path") or "",
                                "description": op.get("description"),
                            },
                        )
            elif kind == "mcp":
                for ti, tool in enumerate(expose.get("tools") or []):
                    yield (
                        (*base, "exposes", ei, "tools", ti),
                        tool,
                        {"description": tool.get("description")},
                    )
                for ri, resource in enumerate(expose.get("resources") or []):
                    yield (
                        (*base, "exposes", ei, "resources", ri),
                        resource,
                        {"description": resource.get("description")},
                    )
        for ai, aggregate in enumerate(self.capability.get("aggregates") or []):
            for fi, function in enumerate(aggregate.get("functions") or []):
                path = (*base, "aggregates", ai, "functions", fi)
                yield path, function, {"description": function.get("description")}

    # -- calls and refs

    def resolve_call(
        self,
        path: KeyPath,
        owner: dict[str, Any],
        context: dict[str, Any],
        *,
        store: bool = True,
    ) -> None:
        call = owner.get("call")
        call_path = (*path, "call")
        if call is None:
            return
        parts = str(call).split(".")
        if len(parts) != 2 or not all(parts):
            self.report(
                self.unserved,
                "invalid_call",
                call_path,
                f"call {call!r} must be 'namespace.operation' (two parts)" + self._kept(),
            )
            return
        namespace, name = parts
        candidates = self.operations.get((namespace, name), [])
        if not candidates:
            self.report(
                self.unserved,
                "unknown_call",
                call_path,
                self._missing_call(namespace, name) + self._kept(),
            )
            return
        chosen = candidates[0]
        if len(candidates) > 1:
            chosen = self._disambiguate(candidates, owner, context)
            self.report(
                "warning",
                "ambiguous_call",
                call_path,
                f"{len(candidates)} operations in {namespace!r} are named {name!r}; "
                f"using the one on {chosen.method} {chosen.resource_path} (best match by "
                "description, method and path)",
            )
        if store:
            self.call_targets[call_path] = chosen.path

    def _kept(self) -> str:
        """What a lenient import does with a part whose call or ref does not resolve."""
        if self.strict:
            return ""
        return ". Kept as written; calling the operation answers 503 (operation_not_served)"

    def _missing_call(self, namespace: str, name: str) -> str:
        names = sorted(n for (ns, n) in self.operations if ns == namespace)
        if names:
            shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
            return f"call to {namespace}.{name}: no operation {name!r} in {namespace!r} ({shown})"
        for held_path in self.held:
            held = self.source.data
            for key in held_path:
                held = held[key]
            if held_path[-2] == "consumes" and held.get("namespace") == namespace:
                return (
                    f"call to {namespace}.{name}: consumes namespace {namespace!r} is not served "
                    f"(line {self.source.locate(held_path)[0]})"
                )
        known = sorted({entry.namespace for entry in self.consumes})
        return f"call to {namespace}.{name}: no consumes namespace {namespace!r}" + (
            f" (declared: {', '.join(known)})" if known else " (none is declared)"
        )

    @staticmethod
    def _disambiguate(
        candidates: list[_Operation], owner: dict[str, Any], context: dict[str, Any]
    ) -> _Operation:
        with_keys = (
            set((owner.get("with") or {}).keys()) if isinstance(owner.get("with"), dict) else set()
        )
        exposed_path = _normal_path(str(context.get("path") or ""))

        def score(op: _Operation) -> int:
            total = 0
            if context.get("description") and op.description == context["description"]:
                total += 4
            if context.get("method") and op.method == context["method"]:
                total += 2
            if exposed_path and exposed_path.endswith(_normal_path(op.resource_path)):
                total += 2
            if with_keys and with_keys <= op.parameters:
                total += 1
            return total

        return max(candidates, key=score)  # max keeps the first among equals

    def resolve_ref(
        self,
        path: KeyPath,
        owner: dict[str, Any],
        functions: dict[tuple[str, str], KeyPath],
    ) -> None:
        ref = owner.get("ref")
        if ref is None:
            return
        parts = str(ref).split(".")
        target = functions.get((parts[0], parts[1])) if len(parts) == 2 else None
        if target is None:
            known = ", ".join(f"{ns}.{fn}" for ns, fn in functions) or "none is declared"
            self.report(
                self.unserved,
                "unknown_ref",
                (*path, "ref"),
                f"ref {ref!r} names no aggregate function ({known})" + self._kept(),
            )
            return
        self.ref_targets[(*path, "ref")] = target

    # -- exposes

    def check_exposes(self) -> None:
        seen: dict[str, int] = {}
        for ei, expose in self.exposes():
            namespace = expose.get("namespace")
            path: KeyPath = ("capability", "exposes", ei)
            if namespace:
                if namespace in seen:
                    self.report(
                        "error",
                        "duplicate_namespace",
                        (*path, "namespace"),
                        f"expose namespace {namespace!r} is declared twice",
                    )
                seen[namespace] = ei
                self.namespaces[namespace].append("exposes")
            if expose.get("type") == "rest":
                self.check_rest_routes(expose, path)
        for bind in self.all_binds():
            self.namespaces[bind[1]["namespace"]].append("binds")
        for namespace, kinds in self.namespaces.items():
            if len(kinds) > 1 and len(set(kinds)) > 1:
                self.report(
                    "error" if self.strict else "warning",
                    "namespace_reused",
                    (),
                    f"namespace {namespace!r} is used by {' and '.join(sorted(set(kinds)))}; "
                    "the spec wants namespaces unique (rule naftiko-namespaces-unique)",
                )

    def check_rest_routes(self, expose: dict[str, Any], path: KeyPath) -> None:
        seen: dict[tuple[str, str], KeyPath] = {}
        consumes_namespaces = {entry.namespace for entry in self.consumes}
        for ri, resource in enumerate(expose.get("resources") or []):
            route = _normal_path(str(resource.get("path")))
            forward = resource.get("forward")
            if isinstance(forward, dict) and forward.get("targetNamespace") not in (
                consumes_namespaces
            ):
                self.report(
                    "warning",
                    "unknown_forward",
                    (*path, "resources", ri, "forward", "targetNamespace"),
                    f"forward target {forward.get('targetNamespace')!r} is not a consumes "
                    "namespace of this capability",
                )
            for oi, op in enumerate(resource.get("operations") or []):
                key = (route, str(op.get("method")))
                op_path = (*path, "resources", ri, "operations", oi, "method")
                if key in seen:
                    line, _ = self.source.locate(seen[key])
                    self.report(
                        "warning",
                        "duplicate_route",
                        op_path,
                        f"{op.get('method')} {resource.get('path')} is declared again "
                        f"(first at line {line}); only the first answers",
                    )
                else:
                    seen[key] = op_path

    # -- with references (§3)

    def check_with_references(self) -> None:
        """``PREFIX.x`` in a ``with`` names caller parameter ``x``: with declared input
        parameters, ``x`` must be one of them (or, for REST, a path variable or ``body``)."""
        for path, owner, names, prefix, label in self.declaring_callers():
            if not names:
                continue
            prefixes = ("rest", "tools", prefix)
            places = [((*path, "with"), owner.get("with"))]
            for i, step in enumerate(owner.get("steps") or []):
                if isinstance(step, dict):
                    places.append(((*path, "steps", i, "with"), step.get("with")))
            for with_path, values in places:
                for key_path, reference in dangling_references(values, prefixes, names):
                    self.report(
                        self.unserved,
                        "unknown_with_reference",
                        (*with_path, *key_path),
                        dangling_message(reference, label, names),
                    )

    def declaring_callers(self) -> Iterator[tuple[KeyPath, dict[str, Any], list[str], str, str]]:
        """``(path, owner, names it may reference, its own prefix, how to name it)``."""
        for ei, expose in self.exposes():
            base: KeyPath = ("capability", "exposes", ei)
            namespace = str(expose.get("namespace") or "")
            if expose.get("type") == "rest":
                for ri, resource in enumerate(expose.get("resources") or []):
                    for oi, op in enumerate(resource.get("operations") or []):
                        declared = [
                            *_declared_names(op.get("inputParameters")),
                            *_declared_names(resource.get("inputParameters")),
                        ]
                        names = (
                            [*declared, *path_variables(str(resource.get("path") or "")), "body"]
                            if declared
                            else []
                        )
                        label = f"operation {op.get('method')} {resource.get('path')}"
                        path = (*base, "resources", ri, "operations", oi)
                        yield path, op, names, namespace, label
            elif expose.get("type") == "mcp":
                for ti, tool in enumerate(expose.get("tools") or []):
                    names = _declared_names(tool.get("inputParameters"))
                    yield (*base, "tools", ti), tool, names, namespace, f"tool {tool.get('name')!r}"
        for ai, aggregate in enumerate(self.capability.get("aggregates") or []):
            for fi, function in enumerate(aggregate.get("functions") or []):
                names = _declared_names(function.get("inputParameters"))
                path = ("capability", "aggregates", ai, "functions", fi)
                label = f"function {function.get('name')!r}"
                yield path, function, names, str(aggregate.get("namespace") or ""), label

    # -- binds and secrets

    def all_binds(self) -> Iterator[tuple[KeyPath, dict[str, Any]]]:
        for i, bind in enumerate(self.source.data.get("binds") or []):
            yield ("binds", i), bind
        for i, bind in enumerate(self.capability.get("binds") or []):
            yield ("capability", "binds", i), bind

    def check_binds(self) -> None:
        if "capability" not in self.source.data:
            # A shared consumes document uses the binds of the documents that import it;
            # its variables are checked there.
            return
        by_namespace: dict[str, set[str]] = {}
        for _path, bind in self.all_binds():
            variables = set((bind.get("keys") or {}).keys())
            by_namespace.setdefault(bind["namespace"], set()).update(variables)
        declared = set().union(*by_namespace.values()) if by_namespace else set()
        parameter_names = set(self._parameter_names(self.source.data))
        for entry in self.consumes:
            parameter_names.update(self._parameter_names(entry.data))
        reported: set[str] = set()
        for source, path, text in self._strings():
            for match in _MUSTACHE.finditer(text):
                token = match.group(1)
                namespace, _, variable = token.rpartition(".")
                if namespace:
                    if namespace not in by_namespace or variable in by_namespace[namespace]:
                        continue
                    problem = f"bind namespace {namespace!r} declares no variable {variable!r}"
                elif (
                    _BIND_VARIABLE.match(token)
                    and token not in declared
                    and token not in parameter_names
                ):
                    problem = f"{{{{{token}}}}} is not declared in any binds entry"
                else:
                    continue
                if token in reported:
                    continue
                reported.add(token)
                self.diags.add(
                    source.diagnostic(
                        "error" if self.strict else "warning",
                        "undeclared_bind",
                        path,
                        f"undeclared bind variable: {problem}",
                    )
                )

    def _strings(self) -> Iterator[tuple[Source, KeyPath, str]]:
        def walk(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
            if isinstance(value, str):
                if "{{" in value:
                    yield path, value
            elif isinstance(value, dict):
                for k, v in value.items():
                    yield from walk(v, (*path, k))
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    yield from walk(v, (*path, i))

        for path, text in walk(self.source.data, ()):
            yield self.source, path, text
        for entry in self.consumes:
            if entry.import_entry is not None:
                for path, text in walk(entry.data, entry.data_path):
                    yield entry.source, path, text

    @staticmethod
    def _parameter_names(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("inputParameters", "arguments") and isinstance(item, list):
                    for p in item:
                        if isinstance(p, dict) and isinstance(p.get("name"), str):
                            yield p["name"]
                yield from _SemanticChecker._parameter_names(item)
        elif isinstance(value, list):
            for item in value:
                yield from _SemanticChecker._parameter_names(item)

    def check_secrets(self) -> None:
        places: list[tuple[Source, KeyPath, Any]] = []
        for entry in self.consumes:
            places.append((entry.source, (*entry.data_path, "authentication"), entry.data))
        for ei, expose in self.exposes():
            places.append((self.source, ("capability", "exposes", ei, "authentication"), expose))
        for source, path, owner in places:
            auth = owner.get("authentication")
            if not isinstance(auth, dict):
                continue
            for key in sorted(_SECRET_FIELDS & auth.keys()):
                value = auth[key]
                if key == "value" and auth.get("type") != "apikey":
                    continue
                if isinstance(value, str) and value and "{{" not in value:
                    self.diags.add(
                        source.diagnostic(
                            "warning",
                            "literal_secret",
                            (*path, key),
                            f"authentication {key} is written literally, so it is stored and "
                            "exported as written; use a bind variable ({{VARIABLE}})",
                        )
                    )
