"""One SDK ``Server`` per MCP expose namespace, serving the live catalog.

Every handler looks the expose up in the current catalog (so ``tools/list`` reflects
imports and admin edits without a restart), and a tool call runs ``runtime.invoke`` in
a worker thread: the runtime is synchronous (one pooled httpx client per process),
which the performance notes measured faster than async httpx for this work.

Results (RUNTIME-CONTRACT §6): ``structuredContent`` is the mapped output when it is
a JSON object, ``content`` holds it as JSON text; ``isError`` when the upstream
answered 400 or more or the registry refused the call (the problem detail is the
text). Arguments that fail the input schema are refused before any upstream call.
"""

from __future__ import annotations

import json
import logging
import re
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import PromptsListChanged, ResourcesListChanged, ToolsListChanged

from .. import runtime
from ..catalog import (
    Catalog,
    McpPromptSpec,
    McpResourceSpec,
    McpServer,
    OperationNotServed,
    get_catalog,
    peek_catalog,
)
from ..exceptions import RegistryError
from ..locations import location_path
from ..templating import mapping_layer, render
from . import schemas, tasks
from .results import refusal, tool_result

logger = logging.getLogger(__name__)
VERSION = "0.1.0"
NOTIFICATIONS = NotificationOptions(
    prompts_changed=True, resources_changed=True, tools_changed=True
)


async def current_catalog() -> Catalog:
    catalog = peek_catalog()
    if catalog is None:
        catalog = await anyio.to_thread.run_sync(get_catalog)
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
        super().__init__(
            namespace,
            version=VERSION,
            instructions=instructions,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
            on_list_resources=self.list_resources,
            on_list_resource_templates=self.list_resource_templates,
            on_read_resource=self.read_resource,
            on_list_prompts=self.list_prompts,
            on_get_prompt=self.get_prompt,
            on_subscriptions_listen=ListenHandler(self.bus),
            get_tool_input_schema=self.tool_input_schema,
        )
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

    # -- tools

    async def list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        served = await self.expose(ctx)
        return types.ListToolsResult(tools=list(self.definitions(served).values()))

    def tool_input_schema(self, name: str) -> dict[str, Any] | None:
        """One tool's input schema, for the SDK's Mcp-Param header check (2026-07-28).

        Without it the SDK runs the whole tools/list handler on every call. Synchronous:
        answers from the cached definitions, or None (no check) when the catalog is stale.
        """
        catalog = peek_catalog()
        served = catalog.mcp.get(self.namespace) if catalog is not None else None
        tool = self.definitions(served).get(name) if served is not None else None
        return tool.input_schema if tool is not None else None

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
        operation = served.tools.get(params.name)
        if operation is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown tool: {params.name}")
        if operation.unserved is not None:  # it cannot run, whatever the arguments: 503, no task
            error = OperationNotServed(operation.unserved)
            return refusal(error.status, error.code, error.title, error.detail)
        arguments = dict(params.arguments or {})
        schema = self.definitions(served)[params.name].input_schema
        errors = schemas.argument_errors(schema, arguments)
        if errors:
            return refusal(400, "invalid_arguments", "Invalid arguments", "; ".join(errors))
        if tasks.wanted(ctx):
            return await tasks.create(ctx, self.namespace, operation, arguments)
        return await anyio.to_thread.run_sync(run_tool, operation, arguments)

    # -- resources

    async def list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        served = await self.expose(ctx)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    name=r.name,
                    title=r.label,
                    uri=r.uri,
                    description=r.description,
                    mime_type=r.mime_type,
                )
                for r in served.resources.values()
                if "{" not in r.uri
            ]
        )

    async def list_resource_templates(
        self, ctx: Any, params: Any
    ) -> types.ListResourceTemplatesResult:
        served = await self.expose(ctx)
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    name=r.name,
                    title=r.label,
                    uri_template=r.uri,
                    description=r.description,
                    mime_type=r.mime_type,
                )
                for r in served.resources.values()
                if "{" in r.uri
            ]
        )

    async def read_resource(
        self, ctx: Any, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        served = await self.expose(ctx)
        uri = str(params.uri)
        for resource in served.resources.values():
            values = match_uri(resource.uri, uri)
            if values is not None:
                text, mime = await anyio.to_thread.run_sync(read_resource_text, resource, values)
                return types.ReadResourceResult(
                    contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=text)]
                )
        raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource: {uri}")

    # -- prompts

    async def list_prompts(self, ctx: Any, params: Any) -> types.ListPromptsResult:
        served = await self.expose(ctx)
        return types.ListPromptsResult(
            prompts=[
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
            ]
        )

    async def get_prompt(
        self, ctx: Any, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        served = await self.expose(ctx)
        prompt = served.prompts.get(params.name)
        if prompt is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown prompt: {params.name}")
        arguments = dict(params.arguments or {})
        missing = [
            str(a.get("name"))
            for a in prompt.arguments
            if a.get("required", True) is not False and a.get("name") not in arguments
        ]
        if missing:
            raise MCPError(
                code=types.INVALID_PARAMS,
                message="missing required argument"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(missing),
            )
        messages = await anyio.to_thread.run_sync(prompt_messages, prompt, arguments)
        return types.GetPromptResult(description=prompt.description, messages=messages)

    # -- changes

    async def notify_changes(self, before: McpServer | None, after: McpServer | None) -> None:
        """Tell every live session what changed between two versions of the expose."""
        if after is not None:
            self.instructions = after.description
        events = []
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


def run_tool(operation, arguments: dict[str, Any]) -> types.CallToolResult:
    """Run a tool through the runtime (in a worker thread) and shape the MCP result.

    The arguments are resolved as a task's job resolves and stores them.
    """
    try:
        resolved = runtime.tool_arguments(operation, arguments)
        outcome = runtime.invoke(operation, runtime.ResolvedCaller(resolved))
    except RegistryError as error:
        return refusal(error.status, error.code, error.title, error.detail)
    return tool_result(outcome.json(), outcome.is_error)


def match_uri(template: str, uri: str) -> dict[str, str] | None:
    """Values of a resource URI template's ``{x}`` variables in ``uri`` (None: no match)."""
    if "{" not in template:
        return {} if template == uri else None
    names: list[str] = []

    def variable(found: re.Match) -> str:
        names.append(found.group(1))
        return "([^/]+)"

    pattern = re.sub(r"\\\{([^{}]+)\\\}", variable, re.escape(template))
    found = re.fullmatch(pattern, uri)
    if found is None:
        return None
    return {name: unquote(value) for name, value in zip(names, found.groups(), strict=True)}


def _file(location: str, base_dir: str | None) -> Path | None:
    """The file a resource or prompt ``location`` names, beside its document (``locations``)."""
    return location_path(location, base_dir)


def read_resource_text(resource: McpResourceSpec, values: dict[str, str]) -> tuple[str, str]:
    """A resource's text and MIME type: from its operation, or from its file."""
    if resource.operation is not None:
        try:
            outcome = runtime.invoke(resource.operation, runtime.ArgumentsCaller(values))
        except RegistryError as error:
            raise MCPError(
                code=types.INTERNAL_ERROR, message=f"reading {resource.uri}: {error.detail}"
            ) from error
        if outcome.is_error:
            raise MCPError(
                code=types.INTERNAL_ERROR,
                message=f"reading {resource.uri} failed with status {outcome.status}",
            )
        data = outcome.json()
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        return text, resource.mime_type or outcome.content_type or "application/json"
    if resource.location:
        path = _file(resource.location, resource.base_dir)
        if path is not None and path.is_file():
            return path.read_text(encoding="utf-8"), resource.mime_type or "text/plain"
    raise MCPError(code=types.INVALID_PARAMS, message=f"resource {resource.uri} has no content")


def prompt_messages(prompt: McpPromptSpec, arguments: dict[str, Any]) -> list[types.PromptMessage]:
    layers = (mapping_layer(arguments),)
    if prompt.template:
        return [
            types.PromptMessage(
                role=str(message.get("role") or "user"),
                content=types.TextContent(
                    type="text", text=render(str(message.get("content") or ""), layers)
                ),
            )
            for message in prompt.template
        ]
    if prompt.location:
        path = _file(prompt.location, prompt.base_dir)
        if path is not None and path.is_file():
            text = render(path.read_text(encoding="utf-8"), layers)
            return [
                types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
            ]
    raise MCPError(code=types.INVALID_PARAMS, message=f"prompt {prompt.name} has no template")


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
