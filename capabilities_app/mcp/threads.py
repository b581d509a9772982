"""The hop from the MCP server's event loop to the synchronous runtime and back.

A tool call, a resource read and a prompt run ``runtime`` code that blocks (the outbound
client's sockets, the database, Redis), so they run in a worker thread. ``run_sync``
is ``anyio.to_thread.run_sync`` made cheaper: the loop's own ``run_in_executor`` on one
``ThreadPoolExecutor`` of ``WORKER_THREADS`` threads (anyio's default limit, so the same
number of calls run at once), the caller's context copied into the thread (as anyio
does), and the wait shielded from cancellation, as anyio's default is: a call that has
started finishes (and its upstream request with it) before a cancellation reaches its
caller. Measured by ``bench/mcp_hop.py`` (docs/mcp-surface.md, "Performance"): the hop
alone costs ~15 µs of CPU against anyio's ~36 µs; calling inline costs nothing but
blocks every session for the whole upstream exchange, so it is kept for work known to
need no I/O (the catalog already in memory, a key checked from memory), which already
runs on the loop.

Imports nothing of the registry, the ORM or the SDK.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.lowlevel

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# anyio's default thread limiter: as many calls at once as before.
WORKER_THREADS = 40
_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The process's worker threads (made on first use: threads start as calls need them)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="mcp-call")
    return _pool


async def run_sync(func: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
    """``func(*args)`` in a worker thread, with this task's context; its result."""
    await anyio.lowlevel.checkpoint_if_cancelled()  # as anyio: a cancelled task starts nothing
    context = contextvars.copy_context()
    future = asyncio.get_running_loop().run_in_executor(pool(), context.run, func, *args)
    with anyio.CancelScope(shield=True):
        result = await future
    return result
