"""The MCP SDK's low-level server as a user would write it: one tool, ``get-ship``, that
calls the upstream's ``GET /ships/{imo}`` with one shared ``httpx.AsyncClient`` (bearer
token in its headers) and answers the upstream's JSON as structured content and as text.

Served over streamable HTTP (``Server.streamable_http_app``: sessions for 2025-11-25
clients, self-contained requests for 2026-07-28 ones; JSON answers, as the registry's
gateway sends them) by uvicorn with its defaults (uvloop and httptools when installed).
Started by ``bench/mcp_baselines.py``:

    python bench/baselines/lowlevel_server.py PORT UPSTREAM_URL

with the upstream's token in ``BENCH_UPSTREAM_TOKEN``. Bench code only.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import asynccontextmanager
from typing import Any

import httpx
import mcp_types as types
import uvicorn
from mcp.server.lowlevel.server import Server

TOOL = types.Tool(
    name="get-ship",
    description="Get a ship by IMO number",
    input_schema={
        "type": "object",
        "properties": {"imo": {"type": "string", "description": "IMO number"}},
        "required": ["imo"],
    },
)


def build(upstream: str, token: str) -> Server:
    client = httpx.AsyncClient(
        base_url=upstream, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )

    @asynccontextmanager
    async def lifespan(server: Server):
        async with client:
            yield {}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[TOOL])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name != TOOL.name:
            raise ValueError(f"unknown tool: {params.name}")
        imo = str((params.arguments or {}).get("imo", ""))
        response = await client.get(f"/ships/{imo}")
        if response.status_code >= 400:
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=response.text)], is_error=True
            )
        data = response.json()
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(data))],
            structured_content=data,
        )

    return Server(
        "lowlevel-baseline", lifespan=lifespan, on_list_tools=list_tools, on_call_tool=call_tool
    )


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    server = build(upstream, os.environ["BENCH_UPSTREAM_TOKEN"])
    app = server.streamable_http_app(json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
