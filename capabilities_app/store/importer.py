"""Documents into the store: one transaction per run, bulk writes, nothing half-written.

``import_documents`` reads, checks and writes a batch of documents. Every document
of a run is checked, and the run's writes are kept only if every document passed
(and the run is not a dry run): one bad file leaves the database as it was.

A document whose resolved form equals what is stored (see ``exporter``) is
``unchanged`` and writes nothing. Otherwise its rows are replaced: the old parts
are deleted and the new ones written with one bulk insert per model, so the number
of queries does not grow with the number of operations.

A capability edited in the admin since its last import is not replaced silently: the
import fails, naming the edits it would overwrite (``editing.overwritten_by``), unless
``force`` (overwrite them) or ``keep_edited`` (leave that capability as it is, status
``kept``). Parts a lenient import cannot serve are kept as written
(``Capability.unserved_parts``, or the part's ``extra`` for a ``call``/``ref`` that
does not resolve), so the export gives the document back.

The rows themselves are built, validated and bulk-written by ``writer.RowBuilder``;
this module runs the batch, guards admin edits and reports each document's outcome.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from django.db import IntegrityError, transaction
from django.utils import timezone

from capabilities_app.core.errors import Diagnostic, SpecError
from capabilities_app.store import editing, exporter, versioning
from capabilities_app.store.loader import KeyPath, Source, format_key_path, parse_source, too_large
from capabilities_app.store.models import (
    Aggregate,
    Bind,
    Capability,
    CapabilityTag,
    Consumes,
    Expose,
)
from capabilities_app.store.specs import ImportResolver, ParsedDocument, parse_document
from capabilities_app.store.writer import RowBuilder

__all__ = [
    "SHOWN_EDITS",
    "DocumentInput",
    "Outcome",
    "RunReport",
    "Status",
    "check_document",
    "check_documents",
    "file_inputs",
    "import_documents",
    "registry_import_resolver",
    "text_input",
    "upload_input",
    "write_document",
]

Status = Literal["created", "updated", "unchanged", "kept", "valid", "failed"]
SHOWN_EDITS = 10  # key paths a refusal or a "kept" line names before "and N more"


@dataclass
class DocumentInput:
    """One document to import: where it comes from, its registry name, how to read it."""

    origin: str
    name: str
    load: Callable[[], Source]
    # What to store as the capability's origin: a file's absolute path, so that its
    # relative file:// locations resolve the same from any working directory.
    stored_origin: str | None = None


@dataclass
class Outcome:
    """What happened to one document of a run."""

    origin: str
    name: str
    status: Status
    operations: int = 0
    tools: int = 0
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    capability_id: int | None = None
    note: str = ""  # why a capability was kept

    @property
    def line(self) -> str:
        if self.status == "failed":
            return f"failed {self.name}"
        if self.status == "kept":
            return f"kept {self.name}: {self.note}"
        return f"{self.status} {self.name} ({self.operations} operations, {self.tools} tools)"


@dataclass
class RunReport:
    outcomes: list[Outcome]
    dry_run: bool
    written: bool

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def import_documents(
    documents: Iterable[DocumentInput],
    *,
    strict: bool = False,
    dry_run: bool = False,
    resolve_import: ImportResolver | None = None,
    on_progress: Callable[[Outcome], None] | None = None,
    force: bool = False,
    keep_edited: bool = False,
) -> RunReport:
    """Check and write ``documents`` in one transaction; keep nothing if any fails.

    With ``dry_run`` the writes happen and are rolled back, so the outcomes say
    exactly what a real run would do (``created``, ``updated``, ``unchanged``,
    ``kept``). A capability edited in the admin since its last import fails the run,
    unless ``force`` (overwrite the edits) or ``keep_edited`` (skip it).
    """
    outcomes: list[Outcome] = []
    guard = _EditGuard(force=force, keep_edited=keep_edited)
    with transaction.atomic():
        for document in documents:
            outcome = _import_one(
                document, strict=strict, resolve_import=resolve_import, write=True, guard=guard
            )
            outcomes.append(outcome)
            if on_progress:
                on_progress(outcome)
        ok = all(o.status != "failed" for o in outcomes)
        written = ok and not dry_run and any(o.status in ("created", "updated") for o in outcomes)
        if not ok or dry_run:
            transaction.set_rollback(True)
    return RunReport(outcomes=outcomes, dry_run=dry_run, written=written)


def check_documents(
    documents: Iterable[DocumentInput],
    *,
    strict: bool = False,
    resolve_import: ImportResolver | None = None,
    on_progress: Callable[[Outcome], None] | None = None,
) -> RunReport:
    """Run every check an import runs (namespace owners included) without writing."""
    outcomes: list[Outcome] = []
    for document in documents:
        outcome = _import_one(document, strict=strict, resolve_import=resolve_import, write=False)
        outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)
    return RunReport(outcomes=outcomes, dry_run=False, written=False)


@dataclass(frozen=True)
class _EditGuard:
    """What an import does over a capability edited in the admin since its last import."""

    force: bool = False
    keep_edited: bool = False


def _import_one(
    document: DocumentInput,
    *,
    strict: bool,
    resolve_import: ImportResolver | None,
    write: bool,
    guard: _EditGuard | None = None,
) -> Outcome:
    try:
        source = document.load()
        parsed = parse_document(
            source, name=document.name, strict=strict, resolve_import=resolve_import
        )
    except SpecError as exc:
        return Outcome(
            document.origin, document.name, "failed", errors=exc.diagnostics, warnings=exc.warnings
        )
    try:
        if not write:
            return check_document(parsed)
        with transaction.atomic():
            return write_document(
                parsed, origin=document.stored_origin, guard=guard or _EditGuard()
            )
    except SpecError as exc:
        return Outcome(
            document.origin,
            document.name,
            "failed",
            errors=exc.diagnostics,
            warnings=[*parsed.warnings, *exc.warnings],
        )


def _outcome(parsed: ParsedDocument, status: Status) -> Outcome:
    return Outcome(
        parsed.source.origin,
        parsed.name,
        status,
        operations=parsed.operation_count,
        tools=parsed.tool_count,
        warnings=parsed.warnings,
    )


def check_document(parsed: ParsedDocument) -> Outcome:
    """Every check ``write_document`` makes, with no write."""
    existing = Capability.objects.filter(name=parsed.name).first()
    _check_namespace_owners(parsed, existing)
    builder = RowBuilder(parsed, existing)
    builder.build()
    builder.validate()
    return _outcome(parsed, "valid")


def write_document(
    parsed: ParsedDocument, *, origin: str | None = None, guard: _EditGuard | None = None
) -> Outcome:
    """Store ``parsed`` (inside the caller's transaction); return what it did."""
    guard = guard or _EditGuard()
    existing = Capability.objects.filter(name=parsed.name).first()
    outcome = _outcome(parsed, "created")
    stored_origin = (origin or parsed.source.origin)[:1024]
    if (
        existing is not None
        and existing.kind == parsed.kind
        and exporter.resolved_document(existing) == parsed.resolved()
    ):
        # Nothing is written, an edited capability stays marked: the document holds the
        # admin's edits, but importing the file imported last would still undo them.
        outcome.status = "unchanged"
        outcome.capability_id = existing.pk
        return outcome
    if existing is not None and existing.edited_at is not None and not guard.force:
        edits = editing.overwritten_by(existing, parsed.data)
        if edits:
            shown = _shown(edits)
            if guard.keep_edited:
                outcome.status = "kept"
                outcome.capability_id = existing.pk
                outcome.note = (
                    f"edited in the admin since its last import ({shown}); not overwritten"
                )
                return outcome
            edited_at = timezone.localtime(existing.edited_at).strftime("%Y-%m-%d %H:%M %Z")
            raise SpecError(
                [
                    parsed.source.diagnostic(
                        "error",
                        "edited_in_admin",
                        (),
                        f"capability {parsed.name!r} was edited in the admin since its last "
                        f"import (last edit {edited_at}); this import would overwrite "
                        f"{shown}. Import with --force (on the Import YAML page: "
                        "'Overwrite admin edits') to replace them, or export the capability "
                        "and import that",
                    )
                ]
            )
    _check_namespace_owners(parsed, existing)
    builder = RowBuilder(parsed, existing)
    builder.build()
    builder.validate()
    if existing is not None:
        _delete_parts(existing)
        outcome.status = "updated"
    capability = builder.capability
    _record_provenance(capability, parsed, stored_origin)
    try:
        capability.save()
        builder.write()
        versioning.bump()
    except IntegrityError as exc:  # a constraint specs could not see (a race, say)
        raise SpecError(
            [parsed.source.diagnostic("error", "constraint", (), f"database refused: {exc}")]
        ) from exc
    outcome.capability_id = capability.pk
    return outcome


def _record_provenance(capability: Capability, parsed: ParsedDocument, origin: str) -> None:
    """What was imported, from where and when; an import ends the "edited" state."""
    capability.source_document = parsed.source.text
    capability.source_sha256 = parsed.source.sha256
    capability.source_origin = origin
    capability.imported_at = timezone.now()
    capability.edited_at = None
    # A new revision (its MCP Registry version): an unchanged import never gets here.
    if capability.pk is not None:
        capability.revision += 1
    capability.revised_at = capability.changed_at = capability.imported_at


def _shown(paths: list[KeyPath]) -> str:
    shown = ", ".join(format_key_path(p) for p in paths[:SHOWN_EDITS])
    if len(paths) > SHOWN_EDITS:
        shown += f" and {len(paths) - SHOWN_EDITS} more"
    return shown


def _check_namespace_owners(parsed: ParsedDocument, existing: Capability | None) -> None:
    exposes = (parsed.data.get("capability") or {}).get("exposes") or []
    wanted = {
        e["namespace"]: i
        for i, e in enumerate(exposes)
        if e.get("namespace") and ("capability", "exposes", i) not in parsed.held
    }
    if not wanted:
        return
    owners = Expose.objects.filter(namespace__in=wanted).select_related("capability")
    if existing is not None:
        owners = owners.exclude(capability=existing)
    errors = [
        parsed.source.diagnostic(
            "error",
            "namespace_taken",
            ("capability", "exposes", wanted[expose.namespace], "namespace"),
            f"expose namespace {expose.namespace!r} is owned by capability "
            f"{expose.capability.name!r}; expose namespaces are unique across the registry",
        )
        for expose in owners
    ]
    if errors:
        raise SpecError(errors)


def _delete_parts(capability: Capability) -> None:
    # Exposes and aggregates first: they hold protected references to operations
    # and functions.
    for model in (Expose, Aggregate, Consumes, Bind, CapabilityTag):
        model.objects.filter(capability=capability).delete()


# --------------------------------------------------------------------------- inputs


def file_inputs(
    paths: list[Path], *, max_bytes: int, name: str | None = None
) -> list[DocumentInput]:
    """One input per file; the name is ``name`` or the file name without its extension."""
    from capabilities_app.store.loader import read_source

    return [
        DocumentInput(
            origin=str(path),
            name=name or path.stem,
            load=functools.partial(read_source, path, max_bytes=max_bytes),
            stored_origin=os.path.abspath(path),
        )
        for path in paths
    ]


def text_input(
    origin: str, text: str | bytes, *, max_bytes: int, name: str | None = None
) -> DocumentInput:
    """A document already in memory."""
    return DocumentInput(
        origin=origin,
        name=name or Path(origin).stem,
        load=lambda: parse_source(text, origin=origin, max_bytes=max_bytes),
    )


def upload_input(
    filename: str,
    read: Callable[[int], bytes],
    size: int,
    *,
    max_bytes: int,
    name: str | None = None,
) -> DocumentInput:
    """An uploaded document (the admin's Import YAML page); ``read(n)`` reads n bytes.

    A file over the limit is refused by its declared size, without reading it.
    """

    def load() -> Source:
        if size > max_bytes:
            raise too_large(filename, size, max_bytes)
        return parse_source(read(max_bytes + 1), origin=filename, max_bytes=max_bytes)

    return DocumentInput(origin=filename, name=name or Path(filename).stem, load=load)


def registry_import_resolver(*, max_bytes: int) -> ImportResolver:
    """Resolve ``import`` against documents already in the registry (for uploads).

    The document named like the location's file wins; otherwise the one stored
    document that declares the namespace. The stored state is exported, so admin
    edits to the shared document count.
    """

    def resolve(_importing: Source, location: str, import_name: str) -> Source:
        stem = Path(location.split("://", 1)[-1]).stem
        candidate = Capability.objects.filter(name=stem).first()
        if candidate is None or not candidate.consumes.filter(namespace=import_name).exists():
            declaring = Consumes.objects.filter(
                namespace=import_name, import_location__isnull=True
            ).values("capability")
            # No DISTINCT: PostgreSQL cannot compare the json columns it would need.
            owners = list(Capability.objects.filter(pk__in=declaring)[:2])
            candidate = owners[0] if len(owners) == 1 else None
        if candidate is None:
            raise SpecError(
                [
                    Diagnostic(
                        "error",
                        "import_not_found",
                        f"no document in the registry defines consumes {import_name!r} "
                        f"(import the shared document {stem!r} first)",
                        origin=location,
                        key_path=format_key_path(("consumes",)),
                    )
                ]
            )
        text = exporter.export_yaml(candidate, inline_imports=True)
        return parse_source(text, origin=f"registry:{candidate.name}", max_bytes=max_bytes)

    return resolve
