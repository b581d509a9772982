"""The hop between the MCP server's event loop and the synchronous runtime, measured.

A tool call runs ``runtime.invoke`` (blocking: the shared sync httpx client) off the
event loop. This compares the ways to get there and back, on the loop the MCP server
runs (uvloop when installed, else asyncio), with ``--tasks`` concurrent callers (the
benchmark's 8 sessions) each making ``--hops`` calls:

- ``anyio.to_thread.run_sync`` (anyio's worker threads, a capacity limiter of 40);
- ``loop.run_in_executor`` on a ``ThreadPoolExecutor`` of 4, 8 and 16 threads;
- ``capabilities_app.mcp.threads.run_sync``, what the registry uses: ``run_in_executor``
  on 40 threads, the context copied, the wait shielded from cancellation as anyio's is;
- inline: the function called on the loop itself (no hop; blocks the loop meanwhile).

Two workloads: ``noop`` (the hop alone) and ``upstream`` (a GET to an nginx fixed-answer
upstream through one shared ``httpx.Client``, what a tool call does; needs nginx). For
each: wall time per call and this process's CPU per call (the whole process is the
server here: pin it with ``taskset -c 1`` for a figure comparable to the servers').

    taskset -c 1 .venv/bin/python bench/mcp_hop.py [--tasks 8] [--hops 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import anyio.to_thread
import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._processes import Workspace  # noqa: E402
from bench.baselines.upstream import nginx_binary, start_upstream  # noqa: E402
from capabilities_app.mcp import threads  # noqa: E402
from tests.support.processes import free_port, wait_ready  # noqa: E402


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _drive(hop, work, tasks: int, hops: int) -> tuple[float, float]:
    async def caller() -> None:
        for _ in range(hops):
            await hop(work)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(tasks)))
    calls = tasks * hops
    return (time.perf_counter() - wall) * 1e6 / calls, (time.process_time() - cpu) * 1e6 / calls


def hops() -> dict:
    async def anyio_hop(work):
        return await anyio.to_thread.run_sync(work)

    def executor_hop(size: int):
        pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="bench-hop")

        async def hop(work):
            return await asyncio.get_running_loop().run_in_executor(pool, work)

        return hop

    async def shipped(work):
        return await threads.run_sync(work)

    async def inline(work):
        return work()

    return {
        "anyio.to_thread.run_sync": anyio_hop,
        "run_in_executor, 4 threads": executor_hop(4),
        "run_in_executor, 8 threads": executor_hop(8),
        "run_in_executor, 16 threads": executor_hop(16),
        "threads.run_sync (the registry's)": shipped,
        "inline (no hop)": inline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--hops", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workloads = {"noop": lambda: None}
    with Workspace("bench-mcp-hop-") as ws:
        client = None
        if nginx_binary() is not None:
            port = free_port()
            process, _ = start_upstream(ws, port)
            url = f"http://127.0.0.1:{port}/ships/IMO9321483"
            wait_ready(process, ws.log("upstream"), url=url)
            client = httpx.Client(headers={"Authorization": f"Bearer {ws.token}"})

            def upstream() -> None:
                client.get(url).raise_for_status()

            workloads["upstream"] = upstream
        loop = new_loop()
        print(
            f"loop {type(loop).__module__}.{type(loop).__name__}; {args.tasks} tasks x "
            f"{args.hops} calls, {args.rounds} rounds interleaved; medians in µs per call"
        )
        ways = hops()
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for workload, work in workloads.items():
                for name, hop in ways.items():
                    measured = loop.run_until_complete(_drive(hop, work, args.tasks, args.hops))
                    results.setdefault((workload, name), []).append(measured)
        print(f"{'workload':<10}{'hop':<36}{'wall µs/call':>14}{'CPU µs/call':>13}")
        for (workload, name), values in results.items():
            wall = statistics.median(v[0] for v in values)
            cpu = statistics.median(v[1] for v in values)
            print(f"{workload:<10}{name:<36}{wall:>14.1f}{cpu:>13.1f}")
        loop.close()
        if client is not None:
            client.close()


if __name__ == "__main__":
    main()
