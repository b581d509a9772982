"""The catalog's builder: every enabled capability compiled from the store, one query per model.

:func:`build_catalog` reads the rows of every enabled capability (``store.rows``) and
compiles them into the frozen types of ``catalog``: routes (their regexes from
``routing``), operations (with the caller names each reads, ``reads``), upstreams,
binds and MCP servers. A call, ref or step call that names nothing is kept, marked
``unserved``. ``catalog.get_catalog`` calls it when the version stamp moves.

Imports models (to build) but nothing above the runtime: no httpx, no MCP SDK, no
surface.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from capabilities_app.core.locations import document_folder
from capabilities_app.core.paths import PathTemplate
from capabilities_app.runtime.catalog import (
    CapabilityContext,
    Catalog,
    Forward,
    Guard,
    Hints,
    InputParam,
    McpPromptSpec,
    McpResourceSpec,
    McpServer,
    Operation,
    Param,
    Route,
    Upstream,
    UpstreamOperation,
)
from capabilities_app.runtime.reads import caller_names
from capabilities_app.runtime.routing import route_regex
from capabilities_app.runtime.templating import Binds, BindSource
from capabilities_app.store import models as m
from capabilities_app.store.rows import Rows

__all__ = ["build_catalog"]


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
        self.capabilities = {c.pk: c for c in m.Capability.objects.filter(enabled=True)}
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
                capability.name,
                self._binds(capability, base_dir),
                base_dir=base_dir,
                label=capability.label,
                description=capability.description,
                modified=capability.modified,
            )
        for consumes in self.rows.all(m.Consumes):
            self._consumes(consumes)
        for function in self.rows.all(m.AggregateFunction):
            aggregate = self.rows.get(m.Aggregate, function.aggregate_id)
            self.functions[function.pk] = self._operation(
                "function",
                function,
                self.contexts[aggregate.capability_id],
                aggregate.namespace,
                params=self.rows.children_of(m.ToolParameter, "function", function.pk),
                semantics=function.semantics,
            )
        for expose in self.rows.all(m.Expose):
            context = self.contexts[expose.capability_id]
            if expose.type == "rest" and expose.namespace:
                self._rest(expose, context)
            elif expose.type == "mcp" and expose.namespace:
                self._mcp(expose, context)
        for namespace, exposes in self.rest_exposes.items():
            # Several exposes sharing a namespace (never imported, perhaps edited so) keep
            # their own checks after the route is matched: no guard covers all of them.
            authentication, binds = exposes[0]
            if len(exposes) == 1 and authentication:
                self.catalog.guards[namespace] = Guard(authentication, binds)
        return self.catalog

    def _binds(self, capability: m.Capability, base_dir: str | None) -> Binds:
        sources = []
        for bind in self.rows.children_of(m.Bind, "capability", capability.pk):
            keys = tuple(
                (k.variable, k.provider_key)
                for k in self.rows.children_of(m.BindKey, "bind", bind.pk)
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
            parameters=_params(self.rows.children_of(m.ConsumedParameter, "consumes", consumes.pk)),
        )
        context.upstreams[upstream.namespace] = upstream
        for resource in self.rows.children_of(m.ConsumedResource, "consumes", consumes.pk):
            resource_params = _params(
                self.rows.children_of(m.ConsumedParameter, "resource", resource.pk)
            )
            for op in self.rows.children_of(m.ConsumedOperation, "resource", resource.pk):
                compiled = UpstreamOperation(
                    upstream=upstream,
                    name=op.name,
                    method=op.method,
                    path=PathTemplate.parse(resource.path),
                    parameters=_merge(
                        upstream.parameters,
                        resource_params,
                        _params(self.rows.children_of(m.ConsumedParameter, "operation", op.pk)),
                    ),
                    body=op.body,
                    output_raw_format=op.output_raw_format,
                    outputs=tuple(
                        (o.name, o.value)
                        for o in self.rows.children_of(
                            m.ConsumedOutputParameter, "operation", op.pk
                        )
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
        ref_id = getattr(row, "ref_id", None)
        ref = self.functions.get(ref_id) if ref_id else None
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
        for resource in self.rows.children_of(m.ExposedResource, "expose", expose.pk):
            forward_spec = resource.forward if isinstance(resource.forward, dict) else None
            regex, variables = route_regex(resource.path, forward=forward_spec is not None)
            route = by_pattern.get(regex.pattern)
            if route is None:
                route = Route(
                    expose.namespace,
                    resource.path,
                    regex,
                    variables,
                    authentication=_auth(expose),
                    context=context,
                    description=resource.description,
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
            resource_params = self.rows.children_of(m.ExposedParameter, "resource", resource.pk)
            for op in self.rows.children_of(m.ExposedOperation, "resource", resource.pk):
                if op.method in route.methods:
                    continue  # the first declaration answers (specs warns about the rest)
                op_params = self.rows.children_of(m.ExposedParameter, "operation", op.pk)
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
        for tool in self.rows.children_of(m.Tool, "expose", expose.pk):
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
                params=self.rows.children_of(m.ToolParameter, "tool", tool.pk),
                hints=hints,
            )
        for resource in self.rows.children_of(m.McpResource, "expose", expose.pk):
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
        for prompt in self.rows.children_of(m.McpPrompt, "expose", expose.pk):
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
