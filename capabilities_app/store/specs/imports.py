"""Import resolution: consumes blocks taken from other documents (``location`` / ``import``).

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capabilities_app.core.errors import DiagnosticList, SpecError
from capabilities_app.core.locations import location_path
from capabilities_app.store.layout import CONSUMES
from capabilities_app.store.loader import KeyPath, Source, read_source
from capabilities_app.store.specs.header import check_header
from capabilities_app.store.specs.structure import StructureChecker

__all__ = [
    "ConsumesEntry",
    "ImportResolver",
    "consumes_lists",
    "file_import_resolver",
    "resolve_consumes",
]

ImportResolver = Callable[[Source, str, str], Source]
"""``(importing source, location, import name) → the source that defines it``."""

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


def consumes_lists(data: dict[str, Any]) -> Iterator[tuple[str, KeyPath, list[Any]]]:
    if isinstance(data.get("consumes"), list):
        yield "root", ("consumes",), data["consumes"]
    capability = data.get("capability")
    if isinstance(capability, dict) and isinstance(capability.get("consumes"), list):
        yield "capability", ("capability", "consumes"), capability["consumes"]


def resolve_consumes(
    source: Source,
    resolve_import: ImportResolver | None,
    diags: DiagnosticList,
    held: dict[KeyPath, str] | None = None,
) -> list[ConsumesEntry]:
    entries: list[ConsumesEntry] = []
    for scope, list_path, items in consumes_lists(source.data):
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
    check_header(target, sub)
    if sub.errors:
        fail(
            "import_invalid",
            f"{location!r} is not a document the registry reads: {sub.errors[0].message}",
        )
        return None
    available: list[str] = []
    for _scope, list_path, items in consumes_lists(target.data):
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
            checker = StructureChecker(target, diags)
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
