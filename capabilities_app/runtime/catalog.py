"""The in-memory catalog: every enabled capability compiled for serving.

The hot path never touches the ORM. ``get_catalog()`` returns a snapshot of plain,
frozen objects (routes, operations, upstreams, binds) built from the database with
one query per model (``builder``), and rebuilds it when the version stamp
(``versioning``) moves, so an import or an admin edit takes effect in every process
within ``REGISTRY_CATALOG_CHECK_SECONDS`` without a restart. This module holds those
frozen types and the process's cache; ``routing`` matches a request to a route.

Imports the store's version stamp (and, through ``builder``, its models) but nothing
above the runtime: ``invoke`` executes what is here, the REST and MCP surfaces look
things up here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capabilities_app.core.errors import OperationNotServed
from capabilities_app.core.paths import PathTemplate
from capabilities_app.runtime import routing
from capabilities_app.runtime.templating import Binds
from capabilities_app.store import versioning

if TYPE_CHECKING:
    from capabilities_app.runtime.plans import Plan

__all__ = [
    "CapabilityContext",
    "Catalog",
    "Forward",
    "Guard",
    "Hints",
    "InputParam",
    "McpPromptSpec",
    "McpResourceSpec",
    "McpServer",
    "Operation",
    "Param",
    "Route",
    "Upstream",
    "UpstreamOperation",
    "get_catalog",
    "peek_catalog",
    "reset",
]


# --------------------------------------------------------------------------- compiled parts


@dataclass(frozen=True)
class Param:
    """A consumed input parameter."""

    name: str
    location: str
    value: Any = None  # literal or template; None: the value comes from with/caller
    required: bool = False
    type: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Upstream:
    """A consumes block."""

    namespace: str
    base_uri: str | None
    authentication: dict[str, Any] | None
    parameters: tuple[Param, ...]


@dataclass(frozen=True)
class UpstreamOperation:
    """A consumed operation: what a ``call`` runs upstream."""

    upstream: Upstream
    name: str
    method: str
    path: PathTemplate
    parameters: tuple[Param, ...]  # adapter, resource and operation level; the later wins
    body: Any
    output_raw_format: str | None
    # Named projections (name, JSONPath) a step's output gains (§7).
    outputs: tuple[tuple[str, str], ...] = ()

    @property
    def call_name(self) -> str:
        return f"{self.upstream.namespace}.{self.name}"

    @functools.cached_property
    def plan(self) -> Plan:
        """The static part of this operation's upstream request, compiled on first use and
        kept as long as this frozen object (one catalog version): ``runtime/plans.py``."""
        from capabilities_app.runtime.plans import compile_plan

        return compile_plan(self)


@dataclass(frozen=True)
class InputParam:
    """A declared exposed input parameter (REST) or tool/function input parameter."""

    name: str
    location: str | None = None
    type: str | None = None
    description: str | None = None
    value: Any = None
    required: bool | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Hints:
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None


@dataclass(frozen=True)
class Operation:
    """Something a client can run: a REST operation, an MCP tool or resource, a function."""

    kind: str  # "rest", "tool", "resource", "function"
    capability: str
    namespace: str  # the expose (or aggregate) namespace; its name is a reference prefix
    name: str
    description: str | None
    call: UpstreamOperation | None
    with_values: Any
    steps: list[Any] | None
    mappings: list[Any] | None
    output_parameters: list[Any] | None
    parameters: tuple[InputParam, ...]
    ref: Operation | None
    context: CapabilityContext
    method: str | None = None
    label: str | None = None
    hints: Hints = field(default_factory=Hints)
    semantics: dict[str, Any] | None = None
    # The caller parameter names a call may look up (``reads.caller_names``): what
    # ``runtime.arguments_of`` resolves once, for sync, async and MCP calls alike.
    reads: tuple[str, ...] = ()

    # Why this operation cannot run (a call or ref to nothing, kept by a lenient import);
    # calling it answers 503 operation_not_served. None: it runs.
    unserved: str | None = None

    def check_served(self) -> None:
        if self.unserved is not None:
            raise OperationNotServed(self.unserved)


@dataclass
class CapabilityContext:
    """What every operation of one capability shares: binds and its consumed operations."""

    name: str
    binds: Binds
    base_dir: str | None = None  # the imported document's folder (file:// locations)
    # info.label, info.description and info.modified: what a generated document
    # (the OpenAPI of a REST expose, api/openapi.py) says of the capability.
    label: str | None = None
    description: str | None = None
    modified: str | None = None
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    operations: dict[str, list[UpstreamOperation]] = field(default_factory=dict)

    def operation(self, call: str) -> UpstreamOperation | None:
        found = self.operations.get(call)
        return found[0] if found else None


@dataclass(frozen=True)
class Forward:
    upstream: Upstream
    trusted_headers: tuple[str, ...]


@dataclass
class Route:
    """One exposed path of a REST expose, with its operations by method."""

    namespace: str
    path: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]
    methods: dict[str, Operation] = field(default_factory=dict)
    forward: Forward | None = None
    forward_context: CapabilityContext | None = None
    authentication: dict[str, Any] | None = None  # the expose's: who may call
    context: CapabilityContext | None = None
    description: str | None = None  # the resource's (the first, when several merge)

    def operation(self, method: str) -> Operation | None:
        """The operation for ``method``; HEAD runs GET when it is not declared itself."""
        found = self.methods.get(method)
        if found is None and method == "HEAD":
            found = self.methods.get("GET")
        return found


@dataclass(frozen=True)
class McpResourceSpec:
    """An MCP resource: read through an operation, or from a file."""

    name: str
    label: str | None
    uri: str
    description: str | None
    mime_type: str | None
    operation: Operation | None
    location: str | None
    base_dir: str | None


@dataclass(frozen=True)
class McpPromptSpec:
    """An MCP prompt: messages with ``{{argument}}`` placeholders, or a file."""

    name: str
    label: str | None
    description: str | None
    arguments: tuple[dict[str, Any], ...]
    template: tuple[dict[str, Any], ...]
    location: str | None
    base_dir: str | None


@dataclass
class McpServer:
    """One MCP expose: its tools, resources and prompts."""

    namespace: str
    capability: str
    description: str | None
    transport: str | None
    tools: dict[str, Operation] = field(default_factory=dict)
    resources: dict[str, McpResourceSpec] = field(default_factory=dict)
    prompts: dict[str, McpPromptSpec] = field(default_factory=dict)
    authentication: dict[str, Any] | None = None  # the expose's: who may call
    binds: Binds | None = None


@dataclass(frozen=True)
class Guard:
    """The ``authentication`` of the one REST expose that owns a namespace, and its binds."""

    authentication: dict[str, Any]
    binds: Binds


@dataclass
class Catalog:
    version: int
    routes: dict[str, list[Route]] = field(default_factory=dict)
    mcp: dict[str, McpServer] = field(default_factory=dict)
    # REST namespaces whose expose asks for a credential: checked before any route is
    # matched, so a wrong method or path under them tells an anonymous caller nothing.
    guards: dict[str, Guard] = field(default_factory=dict)
    # The capability each REST namespace belongs to (the first expose's, when several
    # share one): what a client key's grants are checked against before any route.
    rest_capabilities: dict[str, str] = field(default_factory=dict)
    # What surfaces derive from this catalog and keep while it is current (the OpenAPI
    # documents of REST exposes): computed once per catalog object, dropped with it.
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def guard(self, path: str) -> Guard | None:
        """The credential check of the namespace ``/rest/<path>`` is under, if it has one.

        ``path`` is the decoded path (an encoded ``/`` in the first segment splits it
        here, so at worst a caller is asked for a credential it did not need).
        """
        if not self.guards:
            return None
        return self.guards.get(path.strip("/").partition("/")[0])

    def match(
        self, method: str, path: str, *, encoded: bool = False
    ) -> tuple[Route, dict[str, str]]:
        """The route and path variables for ``/rest/<path>``; 404 or 405 otherwise
        (:func:`routing.match`)."""
        return routing.match(self.routes, method, path, encoded=encoded)


# --------------------------------------------------------------------------- the cache


def _build(version: int) -> Catalog:
    # The builder compiles into the types above, so it is imported once they exist.
    from capabilities_app.runtime.builder import build_catalog

    return build_catalog(version)


_kept = versioning.Kept(versioning.current_version, versioning.is_fresh, _build)


def get_catalog() -> Catalog:
    """The current catalog (rebuilt when the version stamp has moved).

    While the database is unreachable, the catalog last built is served (Kong's data
    planes do the same with their last configuration); with none built yet,
    :class:`~capabilities_app.core.database.DatabaseUnavailable` (503).
    """
    return _kept.get()


def peek_catalog() -> Catalog | None:
    """The catalog when it may be served without asking the database now, else None.

    Async code uses this to skip a thread hop on warm requests (and during an outage,
    between two attempts); on None it calls :func:`get_catalog` in a worker thread.
    """
    return _kept.peek()


def reset() -> None:
    """Forget the catalog and the stamp (tests)."""
    _kept.forget()
    versioning.forget()
