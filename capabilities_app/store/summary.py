"""A capability at a glance: what a person reads first about one capability.

``summarize`` gathers, from the stored rows (enabled or not, so the admin sees a
disabled capability too), the label, description, tags and state; each upstream with
its base URI (without ``user:password@``) and the *type* of its authentication (never
a value); each REST operation as method and served URL; each MCP tool with the hints
that are true and its served URL; the last few jobs. Every URL comes from ``served``.
The number of queries is fixed (one per kind of part), whatever the number of
operations or tools.

Also the small pure pieces the catalog shares (``HINT_BADGES``, ``hint_badges``,
``auth_type``, ``without_userinfo``), so neither surface copies them.

Imports models and ``served``; nothing above the store. No secret leaves here: no bind
value, no credential, no job parameters or results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from capabilities_app.store import served
from capabilities_app.store.models import (
    Capability,
    Consumes,
    Expose,
    ExposedOperation,
    ExposedResource,
    Job,
    Tool,
)

__all__ = [
    "HINT_BADGES",
    "RECENT_JOBS",
    "CapabilitySummary",
    "ExposeEntry",
    "JobEntry",
    "OperationEntry",
    "ToolEntry",
    "UpstreamEntry",
    "auth_type",
    "hint_badges",
    "summarize",
    "without_userinfo",
]

# (hint attribute, badge text), in the order badges are shown.
HINT_BADGES = (
    ("read_only", "read-only"),
    ("idempotent", "idempotent"),
    ("destructive", "destructive"),
    ("open_world", "open-world"),
)
RECENT_JOBS = 5


def hint_badges(hints: Mapping[str, bool | None]) -> tuple[str, ...]:
    """The badges of the hints that are ``True`` (an unset or false hint shows none)."""
    return tuple(text for attr, text in HINT_BADGES if hints.get(attr) is True)


def auth_type(authentication: Any) -> str | None:
    """The type of an ``authentication`` block (``bearer``, ``apikey``…), never a value."""
    kind = authentication.get("type") if isinstance(authentication, dict) else None
    return str(kind) if kind else None


def without_userinfo(uri: str | None) -> str | None:
    """``uri`` without the ``user:password@`` a base URI may carry."""
    if not uri or "@" not in uri:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri.rsplit("@", 1)[-1]
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))


@dataclass(frozen=True)
class UpstreamEntry:
    namespace: str
    base_uri: str | None  # userinfo stripped; None: imported without one
    auth_type: str | None
    imported_from: str | None
    pk: int


@dataclass(frozen=True)
class OperationEntry:
    method: str
    url: str  # served URL, ``{x}`` kept
    name: str | None
    pk: int | None  # the exposed operation (None: a forwarded path)


@dataclass(frozen=True)
class ToolEntry:
    name: str
    badges: tuple[str, ...]
    url: str
    pk: int


@dataclass(frozen=True)
class ExposeEntry:
    type: str  # rest, mcp, skill, control
    namespace: str | None
    url: str | None  # where it is served; None for what is kept but not served
    docs_url: str | None  # REST: Swagger UI
    auth_type: str | None  # what a caller must present, by type
    pk: int
    operations: list[OperationEntry] = field(default_factory=list)
    tools: list[ToolEntry] = field(default_factory=list)


@dataclass(frozen=True)
class JobEntry:
    id: str
    status: str
    kind: str
    what: str  # method and path, or the tool
    created_at: datetime
    finished_at: datetime | None
    upstream_status: int | None


@dataclass
class CapabilitySummary:
    name: str
    label: str | None
    description: str | None
    tags: list[str]
    kind: str
    enabled: bool
    spec_version: str
    revision: int
    edited: bool
    catalog_url: str
    upstreams: list[UpstreamEntry] = field(default_factory=list)
    exposes: list[ExposeEntry] = field(default_factory=list)
    jobs: list[JobEntry] = field(default_factory=list)

    @property
    def operation_count(self) -> int:
        return sum(len(e.operations) for e in self.exposes)

    @property
    def tool_count(self) -> int:
        return sum(len(e.tools) for e in self.exposes)


def _upstreams(capability: Capability) -> list[UpstreamEntry]:
    rows = Consumes.objects.filter(capability=capability).order_by("position", "id")
    return [
        UpstreamEntry(
            namespace=c.namespace,
            base_uri=without_userinfo(c.base_uri),
            auth_type=auth_type(c.authentication),
            imported_from=c.import_location,
            pk=c.pk,
        )
        for c in rows.only(
            "id", "position", "namespace", "base_uri", "authentication", "import_location"
        )
    ]


def _exposes(capability: Capability) -> list[ExposeEntry]:
    exposes = list(
        Expose.objects.filter(capability=capability)
        .order_by("position", "id")
        .only("id", "position", "type", "namespace", "authentication")
    )
    operations: dict[int, list[OperationEntry]] = {e.pk: [] for e in exposes}
    tools: dict[int, list[ToolEntry]] = {e.pk: [] for e in exposes}
    namespaces = {e.pk: e.namespace for e in exposes}
    rest = [e.pk for e in exposes if e.type == Expose.Type.REST and e.namespace]
    mcp = [e.pk for e in exposes if e.type == Expose.Type.MCP and e.namespace]
    resources = (
        ExposedResource.objects.filter(expose_id__in=rest)
        .order_by("expose_id", "position", "id")
        .only("id", "expose_id", "path", "forward")
    )
    by_resource: dict[int, list[ExposedOperation]] = {}
    for op in (
        ExposedOperation.objects.filter(resource__expose_id__in=rest)
        .order_by("position", "id")
        .only("id", "resource_id", "method", "name", "position")
    ):
        by_resource.setdefault(op.resource_id, []).append(op)
    for resource in resources:
        url = served.rest_url(str(namespaces[resource.expose_id]), resource.path)
        found = by_resource.get(resource.pk, [])
        for op in found:
            operations[resource.expose_id].append(OperationEntry(op.method, url, op.name, op.pk))
        if not found and resource.forward:
            operations[resource.expose_id].append(OperationEntry("forward", url, None, None))
    for tool in (
        Tool.objects.filter(expose_id__in=mcp)
        .order_by("position", "id")
        .only(
            "id",
            "expose_id",
            "name",
            "position",
            "read_only_hint",
            "idempotent_hint",
            "destructive_hint",
            "open_world_hint",
        )
    ):
        hints = {
            "read_only": tool.read_only_hint,
            "idempotent": tool.idempotent_hint,
            "destructive": tool.destructive_hint,
            "open_world": tool.open_world_hint,
        }
        tools[tool.expose_id].append(
            ToolEntry(
                tool.name,
                hint_badges(hints),
                served.mcp_url(str(namespaces[tool.expose_id])),
                tool.pk,
            )
        )
    entries = []
    for expose in exposes:
        where = served.served_expose(expose.type, expose.namespace)
        entries.append(
            ExposeEntry(
                type=expose.type,
                namespace=expose.namespace,
                url=where.url if where else None,
                docs_url=where.docs_url if where else None,
                auth_type=auth_type(expose.authentication),
                pk=expose.pk,
                operations=operations[expose.pk],
                tools=tools[expose.pk],
            )
        )
    return entries


def _jobs(capability: Capability, limit: int) -> list[JobEntry]:
    rows = (
        Job.objects.filter(capability=capability)
        .order_by("-created_at")
        .only(
            "id",
            "status",
            "kind",
            "method",
            "target",
            "created_at",
            "finished_at",
            "upstream_status",
        )[:limit]
    )
    return [
        JobEntry(
            id=str(job.id),
            status=job.status,
            kind=job.kind,
            what=f"{job.method} {job.target}".strip(),
            created_at=job.created_at,
            finished_at=job.finished_at,
            upstream_status=job.upstream_status,
        )
        for job in rows
    ]


def summarize(capability: Capability, *, jobs: int = RECENT_JOBS) -> CapabilitySummary:
    """Everything the first screen of ``capability`` shows (a fixed number of queries)."""
    return CapabilitySummary(
        name=capability.name,
        label=capability.label,
        description=capability.description,
        tags=list(capability.tags.order_by("position", "id").values_list("name", flat=True)),
        kind=capability.kind,
        enabled=capability.enabled,
        spec_version=capability.spec_version,
        revision=capability.revision,
        edited=capability.edited_at is not None,
        catalog_url=served.catalog_url(capability.name),
        upstreams=_upstreams(capability),
        exposes=_exposes(capability),
        jobs=_jobs(capability, jobs),
    )
