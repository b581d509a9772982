"""Reading a capability document: the entry point and the checked document it returns.

``parse_document`` runs the checks in order (``header``, ``structure``, ``imports``,
``schema``, ``semantics``) and returns a :class:`ParsedDocument` the importer can write,
or raises :class:`SpecError` listing every problem with its file, line, column and key
path. The dialects it accepts are described in ``specs/__init__``.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from capabilities_app.core.errors import Diagnostic, DiagnosticList, SpecError
from capabilities_app.store import vocabulary
from capabilities_app.store.loader import KeyPath, Source, format_key_path
from capabilities_app.store.specs.header import check_header
from capabilities_app.store.specs.imports import ConsumesEntry, ImportResolver, resolve_consumes
from capabilities_app.store.specs.schema import schema_diagnostics
from capabilities_app.store.specs.semantics import SemanticChecker
from capabilities_app.store.specs.structure import StructureChecker

__all__ = ["ParsedDocument", "parse_document"]


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
    version = check_header(source, diags)
    if diags.errors:
        raise SpecError(diags.items)
    if not re.match(vocabulary.NAME_PATTERN, name):
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
    StructureChecker(source, diags, held=None if strict else held).check_root()
    if diags.errors:
        raise SpecError(diags.items)

    consumes = resolve_consumes(source, resolve_import, diags, held)
    if diags.errors:
        raise SpecError(diags.items)

    severity = "error" if strict else "warning"
    checked: set[str] = set()
    for src in [source, *(e.source for e in consumes if e.import_entry is not None)]:
        if src.origin in checked:
            continue
        checked.add(src.origin)
        diags.extend(schema_diagnostics(src, severity))

    semantic = SemanticChecker(source, consumes, diags, strict=strict, held=held)
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
