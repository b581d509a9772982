"""What the catalog pages show, read from the store and the runtime's catalog.

``listing`` is the index's query: enabled capabilities (kind capability) with their
REST operation and MCP tool counts as subqueries (no row multiplication) and their tags
prefetched, so a page costs the same few queries for 10 capabilities or 10,000.
``capability_page`` gathers one capability's page: its served REST operations and MCP
tools as the runtime's catalog compiled them (the same input schemas and hints the MCP
surface publishes), where the registry serves them (``store.served``), and the exported
document (``store.exporter``, the bytes ``export_capability`` writes).

A surface module: imports the domain (``store``, ``runtime``), never ``api``, ``mcp``
or ``admin``; no secret leaves here (no bind value, no credential).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from capabilities_app.catalog.snippets import (
    CurlParam,
    Header,
    client_configurations,
    credential_headers,
    curl_line,
)
from capabilities_app.runtime.callers import normalise
from capabilities_app.runtime.catalog import Operation, Route, get_catalog
from capabilities_app.runtime.inputs import input_schema
from capabilities_app.store import models as m
from capabilities_app.store import served
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.summary import auth_type, hint_badges

__all__ = [
    "CapabilityPage",
    "McpEndpoint",
    "RestOperation",
    "ToolEntry",
    "capability_page",
    "find_capability",
    "listing",
    "popular_tags",
]

# --------------------------------------------------------------------------- the index


def _count(parts: QuerySet, owner: str) -> Coalesce:
    """How many of ``parts`` belong to the outer capability: one correlated subquery."""
    counted = (
        parts.filter(**{owner: OuterRef("pk")})
        .order_by()
        .values(owner)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _shown() -> QuerySet:
    return m.Capability.objects.filter(enabled=True, kind=m.Capability.Kind.CAPABILITY)


def listing(search: str = "", tag: str = "") -> QuerySet:
    """Enabled capabilities matching ``search`` (name, label, description or a tag) and
    carrying ``tag``, with ``rest_operations`` and ``mcp_tools`` counted, tags prefetched."""
    found = _shown()
    if search:
        tagged = m.CapabilityTag.objects.filter(capability=OuterRef("pk"), name__icontains=search)
        found = found.filter(
            Q(name__icontains=search)
            | Q(label__icontains=search)
            | Q(description__icontains=search)
            | Exists(tagged)
        )
    if tag:
        found = found.filter(
            Exists(m.CapabilityTag.objects.filter(capability=OuterRef("pk"), name=tag))
        )
    return (
        found.annotate(
            rest_operations=_count(
                m.ExposedOperation.objects.filter(resource__expose__type=m.Expose.Type.REST),
                "resource__expose__capability",
            ),
            mcp_tools=_count(
                m.Tool.objects.filter(expose__type=m.Expose.Type.MCP), "expose__capability"
            ),
        )
        .prefetch_related(Prefetch("tags", queryset=m.CapabilityTag.objects.order_by("position")))
        .order_by("name")
    )


def popular_tags(limit: int = 40) -> list[tuple[str, int]]:
    """The tags of enabled capabilities, most used first: ``(name, capabilities)``."""
    rows = (
        m.CapabilityTag.objects.filter(capability__in=_shown())
        .values("name")
        .annotate(n=Count("capability", distinct=True))
        .order_by("-n", "name")[:limit]
    )
    return [(row["name"], row["n"]) for row in rows]


def find_capability(name: str) -> m.Capability | None:
    """The enabled capability called ``name``; None for a disabled or unknown one."""
    return _shown().prefetch_related("tags").filter(name=name).first()


# --------------------------------------------------------------------------- one page


@dataclass(frozen=True)
class RestOperation:
    method: str
    url: str  # the served URL, ``{x}`` path variables kept
    name: str
    label: str | None
    description: str | None
    curl: str
    parameters: tuple[CurlParam, ...]
    unserved: str | None = None


@dataclass(frozen=True)
class ToolEntry:
    name: str
    title: str | None
    description: str | None
    badges: tuple[str, ...]
    input_schema: str  # pretty JSON
    unserved: str | None = None


@dataclass(frozen=True)
class McpEndpoint:
    namespace: str
    description: str | None
    url: str
    stdio_command: str
    configurations: list[tuple[str, str, str]]
    tools: list[ToolEntry]
    own_authentication: str | None  # the type the expose's document declares


@dataclass(frozen=True)
class RestEndpoint:
    namespace: str
    description: str | None
    base_url: str
    openapi_url: str
    docs_url: str
    operations: list[RestOperation]
    own_authentication: str | None


@dataclass
class CapabilityPage:
    capability: m.Capability
    tags: list[str]
    rest: list[RestEndpoint] = field(default_factory=list)
    mcp: list[McpEndpoint] = field(default_factory=list)
    spec_yaml: str = ""

    @property
    def operation_count(self) -> int:
        return sum(len(e.operations) for e in self.rest)

    @property
    def tool_count(self) -> int:
        return sum(len(e.tools) for e in self.mcp)


def rest_parameters(operation: Operation, route: Route) -> list[CurlParam]:
    """What a caller passes to a REST operation, where: the declared parameters by their
    ``in``; without any, the names the operation reads from its caller (the same schema
    a tool derives), a path variable's in the path, ``body`` as the body, others in the
    query."""
    variables = {normalise(v) for v in route.variables}
    if operation.parameters:
        params = []
        for p in operation.parameters:
            location = (p.location or "query").lower()
            if location == "environment":
                continue  # read from the registry's environment, not from the caller
            if location == "path" or normalise(p.name) in variables:
                continue  # already a placeholder in the URL
            whole = location == "body" and (p.name == "body" or p.value == "$")
            params.append(CurlParam(p.name, location, p.required is not False, whole_body=whole))
        return params
    schema = input_schema(operation)
    required = set(schema.get("required", ()))
    params = []
    for name in schema.get("properties", {}):
        if normalise(name) in variables:
            continue
        if name == "body":
            params.append(CurlParam("body", "body", name in required, whole_body=True))
        else:
            params.append(CurlParam(name, "query", name in required))
    return params


def _rest_endpoint(expose: m.Expose, routes: list[Route], capability: str) -> RestEndpoint:
    namespace = str(expose.namespace)
    credentials: list[Header] = credential_headers(expose.authentication)
    operations = []
    for route in routes:
        if route.context is not None and route.context.name != capability:
            continue
        url = served.rest_url(namespace, route.path)
        for method, operation in route.methods.items():
            params = rest_parameters(operation, route)
            operations.append(
                RestOperation(
                    method=method,
                    url=url,
                    name=operation.name,
                    label=operation.label,
                    description=operation.description,
                    curl=curl_line(method, url, params, credentials),
                    parameters=tuple(params),
                    unserved=operation.unserved,
                )
            )
    return RestEndpoint(
        namespace=namespace,
        description=expose.description,
        base_url=served.rest_base_url(namespace),
        openapi_url=served.rest_openapi_url(namespace),
        docs_url=served.rest_docs_url(namespace),
        operations=operations,
        own_authentication=auth_type(expose.authentication),
    )


def _tool(operation: Operation) -> ToolEntry:
    hints = operation.hints
    badges = hint_badges(
        {
            "read_only": hints.read_only,
            "idempotent": hints.idempotent,
            "destructive": hints.destructive,
            "open_world": hints.open_world,
        }
    )
    return ToolEntry(
        name=operation.name,
        title=operation.label,
        description=operation.description,
        badges=badges,
        input_schema=json.dumps(input_schema(operation), indent=2, ensure_ascii=False),
        unserved=operation.unserved,
    )


def _mcp_endpoint(expose: m.Expose, tools: list[Operation]) -> McpEndpoint:
    namespace = str(expose.namespace)
    url = served.mcp_url(namespace)
    credentials = credential_headers(expose.authentication)
    return McpEndpoint(
        namespace=namespace,
        description=expose.description,
        url=url,
        stdio_command=shlex.join(served.mcp_stdio_command(namespace)),
        configurations=client_configurations(namespace, url, credentials),
        tools=[_tool(t) for t in tools],
        own_authentication=auth_type(expose.authentication),
    )


def capability_page(capability: m.Capability) -> CapabilityPage:
    """Everything the page of ``capability`` (an enabled one) shows."""
    catalog = get_catalog()
    page = CapabilityPage(capability, tags=[t.name for t in capability.tags.all()])
    exposes = m.Expose.objects.filter(
        capability=capability, type__in=(m.Expose.Type.REST, m.Expose.Type.MCP)
    ).exclude(namespace=None)
    for expose in exposes.order_by("position", "id"):
        if expose.type == m.Expose.Type.REST:
            routes = catalog.routes.get(str(expose.namespace), [])
            page.rest.append(_rest_endpoint(expose, routes, capability.name))
        else:
            server = catalog.mcp.get(str(expose.namespace))
            tools = (
                list(server.tools.values())
                if server is not None and server.capability == capability.name
                else []
            )
            page.mcp.append(_mcp_endpoint(expose, tools))
    page.spec_yaml = export_yaml(capability)
    return page
