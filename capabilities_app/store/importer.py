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
"""

from __future__ import annotations

import copy
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from capabilities_app.core.errors import Diagnostic, SpecError
from capabilities_app.store import editing, exporter, versioning
from capabilities_app.store.layout import (
    CAPABILITY,
    CONSUMES,
    IMPORTED_CONSUMES_KEYS,
    PARTS,
    WRITE_ORDER,
    Children,
    Field,
    Group,
)
from capabilities_app.store.loader import KeyPath, Source, format_key_path, parse_source, too_large
from capabilities_app.store.models import (
    Aggregate,
    Bind,
    Capability,
    CapabilityTag,
    Consumes,
    Expose,
)
from capabilities_app.store.specs import (
    ConsumesEntry,
    ImportResolver,
    ParsedDocument,
    parse_document,
)

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
    builder = _RowBuilder(parsed, existing)
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
    builder = _RowBuilder(parsed, existing)
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


class _RowBuilder:
    """Turns a parsed document into unsaved model instances, following ``layout``."""

    def __init__(self, parsed: ParsedDocument, existing: Capability | None) -> None:
        self.parsed = parsed
        self.rows: dict[str, list[models.Model]] = defaultdict(list)
        self.by_path: dict[KeyPath, models.Model] = {}
        self.located: list[tuple[models.Model, Any, Source, KeyPath]] = []
        self.links: list[tuple[models.Model, str, KeyPath]] = []
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
        if capability.spec_version is None:
            capability.spec_version = self.parsed.version
        for row, attr, target in self.links:
            setattr(row, attr, self.by_path[target])

    def fill(
        self,
        part: Any,
        row: models.Model,
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
        row: models.Model,
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

    def imported_consumes(self, row: models.Model, entry: ConsumesEntry) -> None:
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
        row: models.Model,
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
            load=lambda path=path: read_source(path, max_bytes=max_bytes),
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
