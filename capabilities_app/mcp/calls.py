"""Running a granted MCP call, in a worker thread: a tool, a resource read, a prompt.

Each call is charged to its client's rate limit first (:class:`Charge`), then checked,
then run: a tool through ``runtime.invoke.invoke`` on the arguments resolved as a task's job
stores them (its result or refusal an MCP ``CallToolResult``); a resource from its
operation or its file; a prompt rendered from its template or its file. A refusal of a
resource read or a prompt is a JSON-RPC error (:func:`protocol_refusal`), a tool's an
``isError`` result. ``server`` decides who may call what and hands the call here.

Only ``mcp/`` imports the MCP SDK; must not import ``server`` (which calls this module),
``jobs``, or ``api/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import unquote

import mcp_types as types
from mcp.shared.exceptions import MCPError

from capabilities_app.access import ratelimit
from capabilities_app.access.clients import Client
from capabilities_app.core import database
from capabilities_app.core.errors import InvalidArguments, OperationNotServed, RegistryError
from capabilities_app.core.locations import location_path
from capabilities_app.core.paths import PathTemplate
from capabilities_app.mcp import schemas
from capabilities_app.mcp.results import problem_of, refusal_of, tool_result
from capabilities_app.runtime.callers import ArgumentsCaller, ResolvedCaller, tool_arguments
from capabilities_app.runtime.catalog import McpPromptSpec, McpResourceSpec
from capabilities_app.runtime.invoke import invoke
from capabilities_app.runtime.templating import mapping_layer, render

__all__ = [
    "REFUSED",
    "Charge",
    "ToolCall",
    "match_uri",
    "prompt_messages",
    "protocol_refusal",
    "read_resource_text",
    "run_tool",
]

Role = Literal["user", "assistant"]

# The JSON-RPC error of a registry refusal of a resource read or a prompt (403, 429): in
# the implementation-defined band; ``data`` is the problem document.
REFUSED = -32003


def protocol_refusal(error: RegistryError) -> MCPError:
    """A refusal as a resource read or a prompt answers it: a JSON-RPC error."""
    body = problem_of(error)
    return MCPError(code=REFUSED, message=f"{error.title}: {body['detail']}", data=body)


@dataclass(frozen=True)
class Charge:
    """A call to charge to its client's rate limit (in the worker thread that runs it)."""

    client: Client | None
    capability: str

    def __call__(self, name: str) -> None:
        """Raise the limit's RegistryError (429) when over it; 503 if its database is away."""
        with database.session():  # a worker thread: its connection checked, as for jobs
            ratelimit.charge(self.client, self.capability, name)


@dataclass(frozen=True)
class ToolCall:
    """A granted tool's call, once the tool is known: charged, checked, then run."""

    client: Client | None
    capability: str
    operation: Any
    arguments: dict[str, Any]
    schema: dict[str, Any]

    def check(self) -> types.CallToolResult | None:
        """Charge the call, then the checks before any upstream request or job: the
        refusal, or None. In a worker thread (a limit may ask Redis or the database)."""
        try:
            Charge(self.client, self.capability)(self.operation.name)
        except RegistryError as error:
            return refusal_of(error)
        if self.operation.unserved is not None:  # it cannot run, whatever the arguments: 503
            return refusal_of(OperationNotServed(self.operation.unserved))
        errors = schemas.argument_errors(self.schema, self.arguments)
        if errors:
            return refusal_of(InvalidArguments("; ".join(errors)))
        return None


def run_tool(call: ToolCall) -> types.CallToolResult:
    """Check and run a tool through the runtime (in a worker thread); the MCP result.

    The arguments are resolved as a task's job resolves and stores them.
    """
    refused = call.check()
    if refused is not None:
        return refused
    try:
        resolved = tool_arguments(call.operation, call.arguments)
        outcome = invoke(call.operation, ResolvedCaller(resolved))
    except RegistryError as error:
        return refusal_of(error)
    return tool_result(outcome.json(), outcome.is_error)


def match_uri(template: str, uri: str) -> dict[str, str] | None:
    """Values of a resource URI template's ``{x}`` variables in ``uri`` (None: no match),
    matched as a path template is (``routing.PathTemplate``) and then decoded."""
    if "{" not in template:
        return {} if template == uri else None
    found = PathTemplate.parse(template).match(uri)
    if found is None:
        return None
    return {name: unquote(value) for name, value in found.items()}


def read_resource_text(
    resource: McpResourceSpec, values: dict[str, str], charge: Charge | None = None
) -> tuple[str, str]:
    """A resource's text and MIME type: from its operation, or from its file (charged first)."""
    if charge is not None:
        try:
            charge(resource.name)
        except RegistryError as error:
            raise protocol_refusal(error) from error
    if resource.operation is not None:
        try:
            outcome = invoke(resource.operation, ArgumentsCaller(values))
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
        path = location_path(resource.location, resource.base_dir)
        if path is not None and path.is_file():
            return path.read_text(encoding="utf-8"), resource.mime_type or "text/plain"
    raise MCPError(code=types.INVALID_PARAMS, message=f"resource {resource.uri} has no content")


def prompt_messages(
    prompt: McpPromptSpec, arguments: dict[str, Any], charge: Charge | None = None
) -> list[types.PromptMessage]:
    """A prompt's messages with ``arguments`` rendered in (charged first, then checked)."""
    if charge is not None:
        try:
            charge(prompt.name)
        except RegistryError as error:
            raise protocol_refusal(error) from error
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
    layers = (mapping_layer(arguments),)
    if prompt.template:
        return [
            types.PromptMessage(
                # The document's role as written: the SDK's model checks it is one of the two.
                role=cast(Role, str(message.get("role") or "user")),
                content=types.TextContent(
                    type="text", text=render(str(message.get("content") or ""), layers)
                ),
            )
            for message in prompt.template
        ]
    if prompt.location:
        path = location_path(prompt.location, prompt.base_dir)
        if path is not None and path.is_file():
            text = render(path.read_text(encoding="utf-8"), layers)
            return [
                types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
            ]
    raise MCPError(code=types.INVALID_PARAMS, message=f"prompt {prompt.name} has no template")
