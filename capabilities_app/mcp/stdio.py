"""One MCP expose over standard input and output (``run_mcp_server --transport stdio``).

Standard output carries JSON-RPC only; logs go to standard error. Each line read is
checked before the SDK sees it (``envelope``): a line that is not JSON, or not JSON-RPC
2.0, is answered -32700 or -32600 on the wire (the SDK would drop it without a word).
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from capabilities_app.mcp.envelope import refusal
from capabilities_app.mcp.gateway import settle_memory
from capabilities_app.mcp.server import RegistryServer, current_catalog


@contextmanager
def _wire_stdin() -> Iterator[BinaryIO]:
    """The wire's standard input, for this transport alone.

    As the SDK does when it reads standard input itself: descriptor 0 reads the null
    device while serving (a handler or child process reading stdin gets EOF, never a
    client's message) and the wire is read through a private duplicate; restored after.
    """
    private = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        # Never closed: a worker thread may still block reading it after the transport ends.
        yield os.fdopen(private, "rb", closefd=False)
    finally:
        os.dup2(private, 0)


class CheckedLines:
    """Standard input's lines, less those refused here: each of those is answered on the
    transport's write stream (once the transport has given it) instead of reaching the SDK."""

    def __init__(self, lines: anyio.AsyncFile[str]) -> None:
        self.lines = lines
        self.write: MemoryObjectSendStream[SessionMessage] | None = None
        self.ready = anyio.Event()

    def attach(self, write: MemoryObjectSendStream[SessionMessage]) -> None:
        self.write = write
        self.ready.set()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._checked()

    async def _checked(self) -> AsyncIterator[str]:
        async for line in self.lines:
            answer = refusal(line) if line.strip() else None
            if answer is None:
                yield line
                continue
            await self.ready.wait()
            if self.write is not None:  # always: attach() sets it before ready
                await self.write.send(SessionMessage(answer))


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

    with _wire_stdin() as wire:
        text = io.TextIOWrapper(wire, encoding="utf-8", errors="replace")
        stdin = CheckedLines(anyio.wrap_file(text))
        # The SDK only iterates stdin (``async for line in stdin``), as CheckedLines does.
        async with (
            stdio_server(stdin=stdin) as (read, write),  # type: ignore[arg-type]
            anyio.create_task_group() as group,
        ):
            stdin.attach(write)
            group.start_soon(watch)
            await server.run(read, write, server.create_initialization_options())
            group.cancel_scope.cancel()


def serve_stdio(namespace: str, *, check_seconds: float) -> None:
    anyio.run(_serve, namespace, check_seconds)
