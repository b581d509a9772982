"""The in-memory catalog: every enabled capability compiled for serving.

The hot path never touches the ORM. ``get_catalog()`` returns a snapshot of plain,
frozen objects (routes, operations, upstreams, binds) built from the database with
one query per model, and rebuilds it when the version stamp (``versioning``) moves,
so an import or an admin edit takes effect in every process within
``REGISTRY_CATALOG_CHECK_SECONDS`` without a restart.

Imports models (to build) but nothing above it: ``runtime`` executes what is here,
the REST and MCP surfaces look things up here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from capabilities_app.core.errors import (
    MethodNotAllowed,
    OperationNotServed,
    RouteNotFound,
)
from capabilities_app.core.locations import document_folder
from capabilities_app.runtime.reads import caller_names
from capabilities_app.runtime.templating import Binds, BindSource
from capabilities_app.store import versioning
from capabilities_app.store.models import (
    Aggregate,
    AggregateFunction,
    Bind,
    BindKey,
    Capability,
    ConsumedOperation,
    ConsumedOutputParameter,
    ConsumedParameter,
    ConsumedResource,
    Consumes,
    Expose,
    ExposedOperation,
    ExposedParameter,
    ExposedResource,
    McpPrompt,
    McpResource,
    Tool,
    ToolParameter,
)
from capabilities_app.store.rows import Rows

_TEMPLATE_VARIABLE = re.compile(r"\{\{?\s*([^{}]+?)\s*\}?\}")


def normalise(name: str) -> str:
    """Names compared loosely: lower case, without ``-`` and ``_`` (§3)."""
    return name.lower().replace("-", "").replace("_", "")


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
class PathTemplate:
    """A path with ``{x}``/``{{x}}`` variables, split once: literal, name, literal, …"""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> PathTemplate:
        return cls(tuple(_TEMPLATE_VARIABLE.split(path)))

    @property
    def variables(self) -> tuple[str, ...]:
        return self.parts[1::2]


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
        """The route and path variables for ``/rest/<path>``; 404 or 405 otherwise.

        With ``encoded``, ``path`` is the raw request path: segments are matched as sent
        (so ``a%2Fb`` is one segment) and variables are decoded afterwards.
        """
        if encoded:
            # Decode everything but an encoded "/", which stays inside its segment.
            path = unquote(_ENCODED_SLASH.sub(_SLASH_MARK, path))
        namespace, _, rest = path.strip("/").partition("/")
        rest = "/" + rest if rest else "/"
        if len(rest) > 1:
            rest = rest.rstrip("/")
        allowed: list[str] = []
        for route in self.routes.get(namespace, ()):
            found = route.regex.fullmatch(rest)
            if found is None:
                continue
            groups = ((g or "").replace(_SLASH_MARK, "/") for g in found.groups())
            values = dict(zip(route.variables, groups, strict=True))
            if route.forward is not None or route.operation(method) is not None:
                return route, values
            allowed.extend(m for m in route.methods if m not in allowed)
        if allowed:
            raise MethodNotAllowed(
                f"{method} is not allowed on /rest/{path.strip('/').replace(_SLASH_MARK, '/')}; "
                "allowed: " + ", ".join(allowed),
                allowed,
            )
        shown = path.strip("/").replace(_SLASH_MARK, "/")
        raise RouteNotFound(f"no REST operation is served at /rest/{shown}")


REST_OF_PATH = "__rest__"
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)
_SLASH_MARK = "\x00"  # an encoded "/" while matching (NUL never appears in a decoded URL)


def _route_regex(path: str, *, forward: bool) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A route's regex and variable names; a forward also captures the rest of the path."""
    template = PathTemplate.parse("/" + path.strip("/") if path.strip("/") else "/")
    variables = list(template.variables)
    pattern = ""
    ends_with_variable = len(template.parts) > 1 and template.parts[-1] == ""
    for i, part in enumerate(template.parts):
        if i % 2 == 0:
            pattern += re.escape(part)
        elif forward and ends_with_variable and i == len(template.parts) - 2:
            pattern += "(.+)"  # a forward's last variable takes the rest of the path
        else:
            pattern += "([^/]+)"
    if len(pattern) > 1:
        pattern = pattern.rstrip("/")
    if forward and not ends_with_variable:
        # At the root, "/" itself is part of the remainder (else "/x" would not match).
        pattern = ("" if pattern == "/" else pattern) + "(/.*)?"
        variables.append(REST_OF_PATH)
    return re.compile(pattern or "/"), tuple(variables)


# --------------------------------------------------------------------------- building


def _params(rows) -> tuple[Param, ...]:
    return tuple(
        Param(
            name=p.name,
            location=p.location,
            value=p.value,
            required=bool(p.required),
            type=p.type,
            description=p.description,
        )
        for p in rows
    )


def _input_params(rows) -> tuple[InputParam, ...]:
    return tuple(
        InputParam(
            name=p.name,
            location=getattr(p, "location", None),
            type=p.type,
            description=p.description,
            value=getattr(p, "value", None),
            required=p.required,
            pattern=getattr(p, "pattern", None),
        )
        for p in rows
    )


def _merge(*levels: tuple[Param, ...]) -> tuple[Param, ...]:
    """Parameters of several levels; a later level's (name, location) wins."""
    merged: dict[tuple[str, str], Param] = {}
    for level in levels:
        for param in level:
            merged[(param.name, param.location)] = param
    return tuple(merged.values())


def _missing_call(call: str, context: CapabilityContext) -> str:
    namespace, _, name = call.partition(".")
    if namespace in context.upstreams:
        return f"names no operation {name!r} of consumes {namespace!r}"
    return f"names no consumes namespace {namespace!r} the capability serves"


def _auth(expose) -> dict[str, Any] | None:
    return expose.authentication if isinstance(expose.authentication, dict) else None


def _semantic_hints(function: Operation | None) -> Hints:
    """MCP hints from an aggregate function's semantics (safe → read-only, not destructive)."""
    semantics = (function.semantics if function is not None else None) or {}
    safe = semantics.get("safe")
    return Hints(
        read_only=safe,
        destructive=False if safe else None,
        idempotent=semantics.get("idempotent"),
    )


class _Builder:
    def __init__(self, version: int) -> None:
        self.catalog = Catalog(version)
        self.rows = Rows({"__enabled": True})
        self.capabilities = {c.pk: c for c in Capability.objects.filter(enabled=True)}
        self.contexts: dict[int, CapabilityContext] = {}
        self.upstream_ops: dict[int, UpstreamOperation] = {}
        self.functions: dict[int, Operation] = {}
        # Every REST expose of a namespace, as (authentication, binds); normally one.
        self.rest_exposes: dict[str, list[tuple[dict[str, Any] | None, Binds]]] = {}

    def build(self) -> Catalog:
        for capability in self.capabilities.values():
            # Relative file:// locations (binds, MCP resources and prompts) belong to
            # the document: they resolve against its folder, not the working directory.
            base_dir = document_folder(capability.source_origin)
            self.contexts[capability.pk] = CapabilityContext(
                capability.name, self._binds(capability, base_dir), base_dir=base_dir
            )
        for consumes in self.rows.all(Consumes):
            self._consumes(consumes)
        for function in self.rows.all(AggregateFunction):
            aggregate = self.rows.get(Aggregate, function.aggregate_id)
            self.functions[function.pk] = self._operation(
                "function",
                function,
                self.contexts[aggregate.capability_id],
                aggregate.namespace,
                params=self.rows.children_of(ToolParameter, "function", function.pk),
                semantics=function.semantics,
            )
        for expose in self.rows.all(Expose):
            context = self.contexts[expose.capability_id]
            if expose.type == "rest" and expose.namespace:
                self._rest(expose, context)
            elif expose.type == "mcp" and expose.namespace:
                self._mcp(expose, context)
        for namespace, exposes in self.rest_exposes.items():
            # Several exposes sharing a namespace (never imported, perhaps edited so) keep
            # their own checks after the route is matched: no guard covers all of them.
            if len(exposes) == 1 and exposes[0][0]:
                self.catalog.guards[namespace] = Guard(*exposes[0])
        return self.catalog

    def _binds(self, capability: Capability, base_dir: str | None) -> Binds:
        sources = []
        for bind in self.rows.children_of(Bind, "capability", capability.pk):
            keys = tuple(
                (k.variable, k.provider_key)
                for k in self.rows.children_of(BindKey, "bind", bind.pk)
            )
            sources.append(BindSource(bind.namespace, keys, bind.location, base_dir))
        return Binds(tuple(sources))

    def _consumes(self, consumes) -> None:
        context = self.contexts[consumes.capability_id]
        upstream = Upstream(
            namespace=consumes.namespace,
            base_uri=consumes.base_uri,
            authentication=consumes.authentication
            if isinstance(consumes.authentication, dict)
            else None,
            parameters=_params(self.rows.children_of(ConsumedParameter, "consumes", consumes.pk)),
        )
        context.upstreams[upstream.namespace] = upstream
        for resource in self.rows.children_of(ConsumedResource, "consumes", consumes.pk):
            resource_params = _params(
                self.rows.children_of(ConsumedParameter, "resource", resource.pk)
            )
            for op in self.rows.children_of(ConsumedOperation, "resource", resource.pk):
                compiled = UpstreamOperation(
                    upstream=upstream,
                    name=op.name,
                    method=op.method,
                    path=PathTemplate.parse(resource.path),
                    parameters=_merge(
                        upstream.parameters,
                        resource_params,
                        _params(self.rows.children_of(ConsumedParameter, "operation", op.pk)),
                    ),
                    body=op.body,
                    output_raw_format=op.output_raw_format,
                    outputs=tuple(
                        (o.name, o.value)
                        for o in self.rows.children_of(ConsumedOutputParameter, "operation", op.pk)
                        if o.name and o.value
                    ),
                )
                self.upstream_ops[op.pk] = compiled
                context.operations.setdefault(compiled.call_name, []).append(compiled)

    def _operation(
        self,
        kind: str,
        row,
        context: CapabilityContext,
        namespace: str,
        *,
        params,
        method: str | None = None,
        hints: Hints | None = None,
        semantics: dict[str, Any] | None = None,
    ) -> Operation:
        ref = (
            self.functions.get(getattr(row, "ref_id", None))
            if getattr(row, "ref_id", None)
            else None
        )
        operation = Operation(
            unserved=self._unserved(kind, row, context, namespace, method),
            kind=kind,
            capability=context.name,
            namespace=namespace,
            name=row.name or "",
            description=getattr(row, "description", None),
            call=self.upstream_ops.get(row.call_id) if row.call_id else None,
            with_values=row.with_values,
            steps=row.steps,
            mappings=row.mappings,
            output_parameters=row.output_parameters,
            parameters=_input_params(params),
            ref=ref,
            context=context,
            method=method,
            label=getattr(row, "label", None),
            hints=hints or Hints(),
            semantics=semantics,
        )
        return replace(operation, reads=caller_names(operation))

    def _unserved(
        self, kind: str, row, context: CapabilityContext, namespace: str, method: str | None
    ) -> str | None:
        """Why the part cannot run, or None: a call, ref or step call that names nothing."""
        extra = row.extra if isinstance(row.extra, dict) else {}
        problem = None
        call = extra.get("call")
        if row.call_id is None and isinstance(call, str):
            problem = f"its call {call} {_missing_call(call, context)}"
        ref = extra.get("ref")
        if problem is None and getattr(row, "ref_id", None) is None and isinstance(ref, str):
            problem = f"its ref {ref} names no aggregate function of the capability"
        for step in row.steps if problem is None and isinstance(row.steps, list) else ():
            target = step.get("call") if isinstance(step, dict) else None
            if isinstance(target, str) and context.operation(target) is None:
                problem = (
                    f"its step {step.get('name')!r} calls {target}, which "
                    f"{_missing_call(target, context)}"
                )
                break
        if problem is None:
            return None
        what = {
            "rest": f"{method} operation {row.name or ''}".replace("  ", " ").strip(),
            "tool": f"tool {row.name!r}",
            "resource": f"resource {row.name!r}",
            "function": f"function {row.name!r}",
        }[kind]
        return (
            f"{what} of {namespace!r} (capability {context.name!r}) is not served: {problem}. "
            "The import kept it as written; fix its call in the admin or in the document"
        )

    def _rest(self, expose, context: CapabilityContext) -> None:
        routes = self.catalog.routes.setdefault(expose.namespace, [])
        self.catalog.rest_capabilities.setdefault(expose.namespace, context.name)
        self.rest_exposes.setdefault(expose.namespace, []).append((_auth(expose), context.binds))
        by_pattern: dict[str, Route] = {r.regex.pattern: r for r in routes}
        for resource in self.rows.children_of(ExposedResource, "expose", expose.pk):
            forward_spec = resource.forward if isinstance(resource.forward, dict) else None
            regex, variables = _route_regex(resource.path, forward=forward_spec is not None)
            route = by_pattern.get(regex.pattern)
            if route is None:
                route = Route(
                    expose.namespace,
                    resource.path,
                    regex,
                    variables,
                    authentication=_auth(expose),
                    context=context,
                )
                by_pattern[regex.pattern] = route
                routes.append(route)
            if forward_spec is not None:
                upstream = context.upstreams.get(str(forward_spec.get("targetNamespace")))
                if upstream is not None:
                    route.forward = Forward(
                        upstream, tuple(str(h) for h in forward_spec.get("trustedHeaders") or ())
                    )
                    route.forward_context = context
            resource_params = self.rows.children_of(ExposedParameter, "resource", resource.pk)
            for op in self.rows.children_of(ExposedOperation, "resource", resource.pk):
                if op.method in route.methods:
                    continue  # the first declaration answers (specs warns about the rest)
                op_params = self.rows.children_of(ExposedParameter, "operation", op.pk)
                names = {p.name for p in op_params}
                params = [p for p in resource_params if p.name not in names] + list(op_params)
                route.methods[op.method] = self._operation(
                    "rest", op, context, expose.namespace, params=params, method=op.method
                )

    def _mcp(self, expose, context: CapabilityContext) -> None:
        server = McpServer(
            namespace=expose.namespace,
            capability=context.name,
            description=expose.description,
            transport=expose.transport,
            authentication=_auth(expose),
            binds=context.binds,
        )
        for tool in self.rows.children_of(Tool, "expose", expose.pk):
            hints = Hints(
                tool.read_only_hint,
                tool.destructive_hint,
                tool.idempotent_hint,
                tool.open_world_hint,
            )
            if hints == Hints() and tool.ref_id:
                hints = _semantic_hints(self.functions.get(tool.ref_id))
            server.tools[tool.name] = self._operation(
                "tool",
                tool,
                context,
                expose.namespace,
                params=self.rows.children_of(ToolParameter, "tool", tool.pk),
                hints=hints,
            )
        for resource in self.rows.children_of(McpResource, "expose", expose.pk):
            has_operation = (
                resource.call_id
                or resource.steps
                or resource.output_parameters
                or isinstance((resource.extra or {}).get("call"), str)
            )
            server.resources[resource.name] = McpResourceSpec(
                name=resource.name,
                label=resource.label,
                uri=resource.uri or f"{expose.namespace}://{resource.name}",
                description=resource.description,
                mime_type=resource.mime_type,
                operation=self._operation(
                    "resource", resource, context, expose.namespace, params=()
                )
                if has_operation
                else None,
                location=resource.location,
                base_dir=context.base_dir,
            )
        for prompt in self.rows.children_of(McpPrompt, "expose", expose.pk):
            server.prompts[prompt.name] = McpPromptSpec(
                name=prompt.name,
                label=prompt.label,
                description=prompt.description,
                arguments=tuple(a for a in prompt.arguments or () if isinstance(a, dict)),
                template=tuple(t for t in prompt.template or () if isinstance(t, dict)),
                location=prompt.location,
                base_dir=context.base_dir,
            )
        self.catalog.mcp[expose.namespace] = server


def build_catalog(version: int) -> Catalog:
    return _Builder(version).build()


_kept = versioning.Kept(versioning.current_version, versioning.is_fresh, build_catalog)


def get_catalog() -> Catalog:
    """The current catalog (rebuilt when the version stamp has moved).

    While the database is unreachable, the catalog last built is served (Kong's data
    planes do the same with their last configuration); with none built yet,
    :class:`~capabilities_app.core.errors.DatabaseUnavailable` (503).
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
