"""One MCP expose over standard input and output (``run_mcp_server --transport stdio``).

Standard output carries JSON-RPC only; logs go to standard error.
"""

from __future__ import annotations

import anyio
from mcp.server.stdio import stdio_server

from .gateway import settle_memory
from .server import RegistryServer, current_catalog


async def _serve(namespace: str, check_seconds: float) -> None:
    catalog = await current_catalog()
    served = catalog.mcp.get(namespace)
    server = RegistryServer(namespace, served.description if served else None)

    async def watch() -> None:
        previous = catalog
        while True:
            await anyio.sleep(check_seconds)
            latest = await current_catalog()
            if latest.version != previous.version:
                await server.notify_changes(previous.mcp.get(namespace), latest.mcp.get(namespace))
                settle_memory()
            previous = latest

    async with stdio_server() as (read, write), anyio.create_task_group() as group:
        group.start_soon(watch)
        await server.run(read, write, server.create_initialization_options())
        group.cancel_scope.cancel()


def serve_stdio(namespace: str, *, check_seconds: float) -> None:
    anyio.run(_serve, namespace, check_seconds)
