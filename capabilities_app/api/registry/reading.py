"""What a capability looks like in the registry API, read with a fixed number of queries.

The list reads one page of capabilities with their tags and exposes (prefetched) and
their REST operation and tool counts (subqueries): four queries whatever the page's
size or the registry's. The detail reads one capability and its parts in nine. The
answers are dataclasses; ``serializers`` gives them their JSON shape.

Credentials: a consumes block shows its authentication *type* only (``bearer``,
``apikey``, …), never a token, a password or a bind's name, and a base URI loses any
``user:password@`` it was written with. Every URL a client is given comes from
``store.served``.

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit, urlunsplit

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from capabilities_app.core.errors import CapabilityNotFound
from capabilities_app.store import served
from capabilities_app.store.models import (
    Capability,
    ConsumedOperation,
    ConsumedResource,
    Consumes,
    Expose,
    ExposedOperation,
    ExposedResource,
    Tool,
)

__all__ = [
    "CapabilityDetail",
    "CapabilitySummary",
    "ConsumesEntry",
    "ExposeEntry",
    "OperationEntry",
    "ToolEntry",
    "describe",
    "get_capability",
    "listed",
    "summarize",
]


@dataclass(frozen=True)
class ExposeEntry:
    """An expose and where the registry serves it (``url`` None: kept, not served)."""

    type: str
    namespace: str | None
    url: str | None = None
    openapi_url: str | None = None
    docs_url: str | None = None
    stdio_command: list[str] | None = None


@dataclass(frozen=True)
class CapabilitySummary:
    name: str
    url: str
    kind: str
    enabled: bool
    label: str
    description: str
    tags: list[str]
    exposes: list[ExposeEntry]
    operation_count: int
    tool_count: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class ConsumedOperationEntry:
    name: str
    method: str
    path: str
    label: str


@dataclass(frozen=True)
class ConsumesEntry:
    namespace: str
    type: str
    description: str
    base_uri: str
    authentication_type: str | None
    imported_from: str | None
    operations: list[ConsumedOperationEntry]


@dataclass(frozen=True)
class OperationEntry:
    """An exposed REST operation, with the URL the registry serves it at."""

    namespace: str
    name: str
    method: str
    path: str
    url: str
    label: str
    description: str
    calls: str | None


@dataclass(frozen=True)
class ToolEntry:
    """An MCP tool, its hints as declared (None: not declared) and its endpoint."""

    namespace: str
    name: str
    label: str
    description: str
    hints: dict[str, bool | None]
    url: str


@dataclass(frozen=True)
class CapabilityDetail:
    name: str
    url: str
    export_url: str
    catalog_url: str
    kind: str
    enabled: bool
    spec_version: str
    label: str
    description: str
    tags: list[str]
    created: str
    modified: str
    imported_at: dt.datetime | None
    updated_at: dt.datetime
    edited_at: dt.datetime | None
    consumes: list[ConsumesEntry] = field(default_factory=list)
    operations: list[OperationEntry] = field(default_factory=list)
    exposes: list[ExposeEntry] = field(default_factory=list)
    tools: list[ToolEntry] = field(default_factory=list)


# --------------------------------------------------------------------------- the list


def _count(model: type[ExposedOperation] | type[Tool], path: str) -> Coalesce:
    counted = (
        model.objects.filter(**{path: OuterRef("pk")})
        .order_by()
        .values(path)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def listed() -> QuerySet[Capability]:
    """Every capability, by name, with what a summary reads (tags, exposes, counts)."""
    return (
        Capability.objects.order_by("name")
        .only("name", "kind", "enabled", "label", "description", "updated_at")
        .prefetch_related(
            "tags", Prefetch("exposes", queryset=Expose.objects.order_by("position", "id"))
        )
        .annotate(
            operation_count=_count(ExposedOperation, "resource__expose__capability"),
            tool_count=_count(Tool, "expose__capability"),
        )
    )


def _expose(expose: Expose) -> ExposeEntry:
    where = served.served_expose(expose.type, expose.namespace)
    if where is None:
        return ExposeEntry(type=expose.type, namespace=expose.namespace)
    return ExposeEntry(
        type=expose.type,
        namespace=expose.namespace,
        url=where.url,
        openapi_url=where.openapi_url,
        docs_url=where.docs_url,
        stdio_command=list(where.stdio_command) if where.stdio_command else None,
    )


def summarize(capability: Capability) -> CapabilitySummary:
    """A capability of :func:`listed` as a list entry."""
    return CapabilitySummary(
        name=capability.name,
        url=served.capability_api_url(capability.name),
        kind=capability.kind,
        enabled=capability.enabled,
        label=capability.label or "",
        description=capability.description or "",
        tags=[tag.name for tag in capability.tags.all()],
        exposes=[_expose(e) for e in capability.exposes.all()],
        operation_count=getattr(capability, "operation_count", 0),
        tool_count=getattr(capability, "tool_count", 0),
        updated_at=capability.updated_at,
    )


# --------------------------------------------------------------------------- the detail


def get_capability(name: str) -> Capability:
    """The capability ``name`` (404 ``capability_not_found`` when there is none)."""
    found = Capability.objects.filter(name=name).first()
    if found is None:
        raise CapabilityNotFound(f"there is no capability {name!r}")
    return found


def _detailed() -> QuerySet[Capability]:
    operations = ConsumedOperation.objects.select_related("resource")
    exposed = ExposedOperation.objects.select_related("call__resource__consumes")
    return Capability.objects.prefetch_related(
        "tags",
        Prefetch("consumes", queryset=Consumes.objects.all()),
        Prefetch("consumes__resources", queryset=ConsumedResource.objects.all()),
        Prefetch("consumes__resources__operations", queryset=operations),
        Prefetch("exposes", queryset=Expose.objects.all()),
        Prefetch("exposes__rest_resources", queryset=ExposedResource.objects.all()),
        Prefetch("exposes__rest_resources__operations", queryset=exposed),
        Prefetch("exposes__tools", queryset=Tool.objects.all()),
    )


def _without_userinfo(uri: str) -> str:
    """A base URI without any ``user:password@`` (a credential written into it)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _consumes(consumes: Consumes) -> ConsumesEntry:
    auth = consumes.authentication
    return ConsumesEntry(
        namespace=consumes.namespace,
        type=consumes.type,
        description=consumes.description or "",
        base_uri=_without_userinfo(consumes.base_uri or ""),
        authentication_type=str(auth.get("type")) if isinstance(auth, dict) else None,
        imported_from=consumes.import_location,
        operations=[
            ConsumedOperationEntry(
                name=op.name, method=op.method, path=resource.path, label=op.label or ""
            )
            for resource in consumes.resources.all()
            for op in resource.operations.all()
        ],
    )


def _call_name(operation: ExposedOperation) -> str | None:
    call = cast("ConsumedOperation | None", operation.call)
    return call.call_name if call is not None else None


def _operations(expose: Expose) -> list[OperationEntry]:
    namespace = expose.namespace or ""
    return [
        OperationEntry(
            namespace=namespace,
            name=op.name or "",
            method=op.method,
            path=resource.path,
            url=served.rest_url(namespace, resource.path),
            label=op.label or "",
            description=op.description or "",
            calls=_call_name(op),
        )
        for resource in expose.rest_resources.all()
        for op in resource.operations.all()
    ]


def _tools(expose: Expose) -> list[ToolEntry]:
    namespace = expose.namespace or ""
    return [
        ToolEntry(
            namespace=namespace,
            name=tool.name,
            label=tool.label or "",
            description=tool.description or "",
            hints={
                "readOnly": tool.read_only_hint,
                "destructive": tool.destructive_hint,
                "idempotent": tool.idempotent_hint,
                "openWorld": tool.open_world_hint,
            },
            url=served.mcp_url(namespace),
        )
        for tool in expose.tools.all()
    ]


def describe(name: str) -> CapabilityDetail:
    """The capability ``name`` in full (404 ``capability_not_found``)."""
    capability = _detailed().filter(name=name).first()
    if capability is None:
        raise CapabilityNotFound(f"there is no capability {name!r}")
    exposes = list(capability.exposes.all())
    served_rest = [e for e in exposes if e.type == Expose.Type.REST and e.namespace]
    served_mcp = [e for e in exposes if e.type == Expose.Type.MCP and e.namespace]
    return CapabilityDetail(
        name=capability.name,
        url=served.capability_api_url(capability.name),
        export_url=served.capability_api_url(capability.name, "export/"),
        catalog_url=served.catalog_url(capability.name),
        kind=capability.kind,
        enabled=capability.enabled,
        spec_version=capability.spec_version,
        label=capability.label or "",
        description=capability.description or "",
        tags=[tag.name for tag in capability.tags.all()],
        created=capability.created or "",
        modified=capability.modified or "",
        imported_at=capability.imported_at,
        updated_at=capability.updated_at,
        edited_at=capability.edited_at,
        consumes=[_consumes(c) for c in capability.consumes.all()],
        operations=[op for e in served_rest for op in _operations(e)],
        exposes=[_expose(e) for e in exposes],
        tools=[tool for e in served_mcp for tool in _tools(e)],
    )
