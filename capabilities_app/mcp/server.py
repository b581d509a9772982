"""One SDK ``Server`` per MCP expose namespace, serving the live catalog.

Every handler looks the expose up in the current catalog (so ``tools/list`` reflects
imports and admin edits without a restart), and a tool call runs ``runtime.invoke`` in
a worker thread (``calls``: charged, checked, run; ``threads``: the hop): the runtime is
synchronous (one pooled httpx client per process), which the performance notes measured
faster than async httpx for this work. The SDK's OpenTelemetry span per message is off
unless ``REGISTRY_MCP_TRACING`` is on.

Results (RUNTIME-CONTRACT §6): ``structuredContent`` is the mapped output when it is
a JSON object, ``content`` holds it as JSON text; ``isError`` when the upstream
answered 400 or more or the registry refused the call (the problem detail is the
text). Arguments that fail the input schema are refused before any upstream call.

Who calls (docs/access.md, MCP): over HTTP the gateway admits each request and leaves
its :class:`~capabilities_app.access.clients.Client` in the ASGI scope's state, which the SDK
hands the handlers as ``ctx.request``; over stdio there is no request and the caller is
the local operator (None: everything). Lists show a client only what its grants allow,
kept per grant set; calling anything else is refused before any upstream request (an
``isError`` 403 result for a tool, a JSON-RPC error for a resource or a prompt); and
every ``tools/call``, ``resources/read`` and ``prompts/get`` of a granted name is
charged to the client's rate limit (``ratelimit.charge``) in the worker thread that
runs it.
"""

from __future__ import annotations

import json
import logging
import weakref
from contextvars import ContextVar
from typing import Any

import mcp_types as types
from django.conf import settings
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import PromptsListChanged, ResourcesListChanged, ToolsListChanged

from capabilities_app.access import admission
from capabilities_app.access.clients import Client
from capabilities_app.core.errors import (
    InsufficientScope,
    NotGranted,
    RegistryError,
)
from capabilities_app.mcp import schemas, tasks, threads
from capabilities_app.mcp.calls import (
    Charge,
    ToolCall,
    match_uri,
    prompt_messages,
    protocol_refusal,
    read_resource_text,
    run_tool,
)
from capabilities_app.mcp.results import refusal_of
from capabilities_app.runtime.catalog import (
    Catalog,
    McpServer,
    get_catalog,
    peek_catalog,
)

logger = logging.getLogger(__name__)
VERSION = "0.1.0"
NOTIFICATIONS = NotificationOptions(
    prompts_changed=True, resources_changed=True, tools_changed=True
)
# Where the gateway leaves the admitted client in the ASGI scope's ``state``.
CLIENT = "registry_client"
# Lists kept per expose, one per (kind, grant set): bounded, the oldest dropped first.
VIEWS_KEPT = 256
# The client of the request being handled in this task, for the SDK's synchronous
# Mcp-Param check (``tool_input_schema``), which the SDK calls in the request's own task
# (2026-07-28 only) and which receives nothing but a tool's name. Handlers read the
# client from ``ctx.request`` (``client_of``): a session's handlers run in its own task.
admitted: ContextVar[Client | None] = ContextVar("mcp_admitted_client", default=None)


async def current_catalog() -> Catalog:
    catalog = peek_catalog()
    if catalog is None:
        catalog = await threads.run_sync(get_catalog)
    return catalog


class RegistryServer(Server):
    """The SDK's low-level server for one expose namespace of the registry."""

    def __init__(self, namespace: str, instructions: str | None) -> None:
        self.namespace = namespace
        # Change notifications: 2025-11-25 connections hear them on their standing
        # stream; 2026-07-28 clients open a subscriptions/listen stream fed by the bus.
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.bus = InMemorySubscriptionBus()
        self._definitions: tuple[McpServer, dict[str, types.Tool]] | None = None
        self._views: tuple[McpServer, dict[tuple[str, frozenset[str] | None], list]] | None = None
        super().__init__(
            namespace,
            version=VERSION,
            instructions=instructions,
            on_list_tools=self.list_tools,
            # A call that makes a task answers the tasks extension's result as a dict, which
            # the SDK passes through as it is; its handler type lists only its own results.
            on_call_tool=self.call_tool,  # type: ignore[arg-type]
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_resource_templates,
            on_read_resource=self.read_resource,
            on_list_prompts=self.list_prompts,
            on_get_prompt=self.get_prompt,
            on_subscriptions_listen=ListenHandler(self.bus),
            get_tool_input_schema=self.tool_input_schema,
        )
        if not settings.REGISTRY_MCP_TRACING:
            # The SDK wraps every message in an OpenTelemetry span, which costs ~7 % of a
            # tools/call's CPU even with no tracer provider configured (docs/mcp-surface.md).
            self.middleware = [
                m for m in self.middleware if not isinstance(m, OpenTelemetryMiddleware)
            ]
        # MCP tasks (2026-07-28 extension): calls from declaring clients become jobs.
        for method, (params_type, handler) in tasks.handlers(namespace).items():
            self.add_request_handler(method, params_type, handler)
        if tasks.enabled():
            self.extensions[tasks.EXTENSION] = {}

    def create_initialization_options(self, notification_options=None, *args, **kwargs):
        # Clients of long-lived sessions are told about changes (tools/list_changed).
        return super().create_initialization_options(
            notification_options or NOTIFICATIONS, *args, **kwargs
        )

    async def expose(self, ctx: Any) -> McpServer:
        # The request's session object is per request; the connection behind it lives on.
        connection = getattr(getattr(ctx, "session", None), "_connection", None)
        if connection is not None:
            self.connections.add(connection)
        served = (await current_catalog()).mcp.get(self.namespace)
        if served is None:
            raise MCPError(
                code=types.INVALID_PARAMS,
                message=f"the MCP expose {self.namespace!r} is not served (disabled or removed)",
            )
        return served

    # -- what a client sees

    def view(self, served: McpServer, kind: str, names: frozenset[str] | None) -> list:
        """The ``kind`` list of ``served`` a client seeing ``names`` (None: all) is shown.

        Built once per expose version and grant set (``VIEWS_KEPT`` kept), not per request.
        """
        cached = self._views
        if cached is None or cached[0] is not served:
            cached = (served, {})
            self._views = cached
        views = cached[1]
        key = (kind, names)
        found = views.get(key)
        if found is None:
            if len(views) >= VIEWS_KEPT:
                views.pop(next(iter(views)))
            found = views[key] = _LISTS[kind](self, served, names)
        return found

    def refused(self, client: Client | None, served: McpServer, name: str) -> RegistryError | None:
        """The 403 for calling ``name`` (a tool or a prompt) without a grant, else None."""
        if client is None:
            return None
        door = admission.Door("mcp", self.namespace, served.capability, served.authentication)
        try:
            admission.authorize(client, door, name)
        except RegistryError as error:
            return error
        return None

    # -- tools

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        served = await self.expose(ctx)
        names = visible(client_of(ctx), served.capability)
        return types.ListToolsResult(tools=self.view(served, "tools", names))

    def tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """One tool's input schema, for the SDK's Mcp-Param header check (2026-07-28).

        Without it the SDK runs the whole tools/list handler on every call. Synchronous:
        answers from the cached definitions, or None (no check) when the catalog is stale.
        None too for a tool the caller may not see: its call is refused (403) anyway, and
        a header check against its schema would tell what it declares.
        """
        catalog = peek_catalog()
        served = catalog.mcp.get(self.namespace) if catalog is not None else None
        if served is None:
            return None
        tool = self.definitions(served).get(name)
        if tool is None:
            return None
        names = visible(admitted.get(), served.capability)
        return tool.input_schema if names is None or name in names else None

    def definitions(self, served: McpServer) -> dict[str, types.Tool]:
        """Tool definitions of ``served``, built once per catalog version (cheap tools/list)."""
        cached = self._definitions
        if cached is None or cached[0] is not served:
            cached = (served, {name: tool_of(op) for name, op in served.tools.items()})
            self._definitions = cached
        return cached[1]

    async def call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult | dict[str, Any]:
        served = await self.expose(ctx)
        client = client_of(ctx)
        # Before the tool is looked up: a hidden tool and an unknown one answer alike.
        error = self.refused(client, served, params.name)
        if error is not None:
            return refusal_of(error)
        operation = served.tools.get(params.name)
        if operation is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown tool: {params.name}")
        call = ToolCall(
            client=client,
            capability=served.capability,
            operation=operation,
            arguments=dict(params.arguments or {}),
            schema=self.definitions(served)[params.name].input_schema,
        )
        if tasks.wanted(ctx):
            return await tasks.create(ctx, self.namespace, operation, call.arguments, call.check)
        return await threads.run_sync(run_tool, call)

    # -- resources

    async def list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        served = await self.expose(ctx)
        names = visible(client_of(ctx), served.capability)
        return types.ListResourcesResult(resources=self.view(served, "resources", names))

    async def list_resource_templates(
        self, ctx: Any, params: Any
    ) -> types.ListResourceTemplatesResult:
        served = await self.expose(ctx)
        names = visible(client_of(ctx), served.capability)
        return types.ListResourceTemplatesResult(
            resource_templates=self.view(served, "templates", names)
        )

    async def read_resource(
        self, ctx: Any, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        served = await self.expose(ctx)
        client = client_of(ctx)
        names = visible(client, served.capability)
        uri = str(params.uri)
        for resource in served.resources.values():
            if names is not None and resource.name not in names:
                continue  # a hidden resource is not matched: refused below, like a missing one
            values = match_uri(resource.uri, uri)
            if values is not None:
                text, mime = await threads.run_sync(
                    read_resource_text, resource, values, Charge(client, served.capability)
                )
                return types.ReadResourceResult(
                    contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)]
                )
        if names is not None and client is not None:  # never says whether a resource hides
            raise protocol_refusal(not_granted(client, f"a resource at {uri}"))
        raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource: {uri}")

    # -- prompts

    async def list_prompts(self, ctx: Any, params: Any) -> types.ListPromptsResult:
        served = await self.expose(ctx)
        names = visible(client_of(ctx), served.capability)
        return types.ListPromptsResult(prompts=self.view(served, "prompts", names))

    async def get_prompt(
        self, ctx: Any, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        served = await self.expose(ctx)
        client = client_of(ctx)
        error = self.refused(client, served, params.name)
        if error is not None:
            raise protocol_refusal(error)
        prompt = served.prompts.get(params.name)
        if prompt is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown prompt: {params.name}")
        arguments = dict(params.arguments or {})
        messages = await threads.run_sync(
            prompt_messages, prompt, arguments, Charge(client, served.capability)
        )
        return types.GetPromptResult(description=prompt.description, messages=messages)

    # -- changes

    async def notify_changes(self, before: McpServer | None, after: McpServer | None) -> None:
        """Tell every live session what changed between two versions of the expose."""
        if after is not None:
            self.instructions = after.description
        events: list[ToolsListChanged | ResourcesListChanged | PromptsListChanged] = []
        if fingerprint_tools(before) != fingerprint_tools(after):
            events.append(ToolsListChanged())
        if fingerprint_names(before, "resources") != fingerprint_names(after, "resources"):
            events.append(ResourcesListChanged())
        if fingerprint_names(before, "prompts") != fingerprint_names(after, "prompts"):
            events.append(PromptsListChanged())
        if not events:
            return
        logger.info(
            "MCP %s changed: %s", self.namespace, ", ".join(type(e).__name__ for e in events)
        )
        for event in events:
            await self.bus.publish(event)
        senders = {
            ToolsListChanged: "send_tool_list_changed",
            ResourcesListChanged: "send_resource_list_changed",
            PromptsListChanged: "send_prompt_list_changed",
        }
        for connection in list(self.connections):
            try:
                for event in events:
                    await getattr(connection, senders[type(event)])()
            except Exception as error:  # a closed connection just stops listening
                logger.info("MCP %s: a connection stopped listening (%s)", self.namespace, error)
                self.connections.discard(connection)


def tool_of(operation) -> types.Tool:
    hints = schemas.annotations(operation.hints)
    return types.Tool(
        name=operation.name,
        title=operation.label,
        description=operation.description,
        input_schema=schemas.input_schema(operation),
        annotations=types.ToolAnnotations(
            read_only_hint=hints.get("readOnlyHint"),
            destructive_hint=hints.get("destructiveHint"),
            idempotent_hint=hints.get("idempotentHint"),
            open_world_hint=hints.get("openWorldHint"),
        )
        if hints
        else None,
    )


# -- who calls, and what they may see and call


def client_of(ctx: Any) -> Client | None:
    """The client the gateway admitted for this request; None over stdio (the operator).

    Over HTTP a request the gateway did not admit is refused (never taken for the
    operator's): the gateway always leaves the client, None included, in the state.
    """
    request = getattr(ctx, "request", None)
    if request is None:
        return None
    state = request.scope.get("state") or {}
    if CLIENT not in state:
        raise MCPError(code=types.INTERNAL_ERROR, message="the request was not admitted")
    return state[CLIENT]


def visible(client: Client | None, capability: str) -> frozenset[str] | None:
    """The names in ``capability`` ``client`` may call; None for all of them."""
    if client is None or capability in client.grants.whole:
        return None
    return frozenset(target for owner, target in client.grants.targets if owner == capability)


def not_granted(client: Client, what: str) -> RegistryError:
    """The 403 for ``what``, worded as ``admission`` words it, naming no hidden name."""
    if client.kind == "token":
        return InsufficientScope(f"this token's scopes do not include {what}")
    return NotGranted(f"the client {client.name!r} has no grant for {what}")


def _tools(server: RegistryServer, served: McpServer, names: frozenset[str] | None) -> list:
    return [t for n, t in server.definitions(served).items() if names is None or n in names]


def _resources(server: RegistryServer, served: McpServer, names: frozenset[str] | None) -> list:
    return [
        types.Resource(
            name=r.name, title=r.label, uri=r.uri, description=r.description, mime_type=r.mime_type
        )
        for r in served.resources.values()
        if "{" not in r.uri and (names is None or r.name in names)
    ]


def _templates(server: RegistryServer, served: McpServer, names: frozenset[str] | None) -> list:
    return [
        types.ResourceTemplate(
            name=r.name,
            title=r.label,
            uri_template=r.uri,
            description=r.description,
            mime_type=r.mime_type,
        )
        for r in served.resources.values()
        if "{" in r.uri and (names is None or r.name in names)
    ]


def _prompts(server: RegistryServer, served: McpServer, names: frozenset[str] | None) -> list:
    return [
        types.Prompt(
            name=p.name,
            title=p.label,
            description=p.description,
            arguments=[
                types.PromptArgument(
                    name=str(a.get("name")),
                    description=a.get("description"),
                    required=a.get("required", True) is not False,
                )
                for a in p.arguments
            ],
        )
        for p in served.prompts.values()
        if names is None or p.name in names
    ]


_LISTS = {"tools": _tools, "resources": _resources, "templates": _templates, "prompts": _prompts}


def fingerprint_tools(served: McpServer | None) -> str:
    if served is None:
        return ""
    return json.dumps(
        [
            tool_of(op).model_dump(mode="json", by_alias=True, exclude_none=True)
            for op in served.tools.values()
        ],
        sort_keys=True,
    )


def fingerprint_names(served: McpServer | None, kind: str) -> tuple:
    if served is None:
        return ()
    items = getattr(served, kind)
    return tuple((name, getattr(item, "description", None)) for name, item in items.items())
