"""What the registry's MCP surface adds to an upstream call, and what tools/list costs.

Starts, as subprocesses (``bench/_processes.py``, as ``bench/rest_overhead.py`` does):
the demo fleet upstream (``manage.py run_demo_upstream``) on a free port of 127.0.0.1; a
throwaway SQLite database with ``fixtures/shipyard-fleet.yaml`` (baseUri pointed at that
port) and a generated capability with ``--tools`` MCP tools (``generate(n)`` of
``bench/import_scale.py``, MCP namespace ``bench-<n>-mcp``) imported; gunicorn (gthread,
1 worker x 8 threads) for the REST expose; and two MCP servers, ``manage.py
run_mcp_server --transport http`` (one process each, uvicorn inside): one with sessions
("stateful") and one with ``--stateless``. ``DEBUG=false``; client keys not required and
no rate limit (``REGISTRY_REQUIRE_CLIENT_KEY=false``, ``REGISTRY_RATE_LIMIT=off``).
Unless ``--no-keys``, each MCP server has a twin with keys on (``<variant>+keys``:
``REGISTRY_REQUIRE_CLIENT_KEY=true``, ``REGISTRY_RATE_LIMIT=100000000/minute``, counted
and never reached, in Redis db 15 when ``redis://127.0.0.1:6379/15`` answers, in the
database otherwise), called with a client key granted both capabilities (``Authorization:
Bearer <key>``: the SDK client gets it through its own ``httpx2.AsyncClient``, the raw
POST as a header; only the key's prefix is printed). The operation is the
fixture's ``get-ship``: MCP tool ``get-ship`` ``{"imo": ...}`` on ``/mcp/fleet-tools``,
REST ``GET /rest/fleet-api/ships/<imo>``, and direct ``GET /ships/<imo>`` on the
upstream with the bearer header (the baseline of every ratio).

MCP clients: the SDK's own ``mcp.Client`` over streamable HTTP, one per session, in each
protocol generation of ``--modes``: ``legacy`` (2025-11-25: initialize handshake, a
session id, a GET stream for notifications) and ``2026-07-28`` (a self-contained
envelope per request, no handshake; ``auto`` lands there too, after a
``server/discover`` probe). Rows named ``raw POST`` send the same 2026-07-28
``tools/call`` (or ``tools/list``) as one hand-built POST on a plain ``httpx.Client``:
the server's share of a call without the SDK client's.

1. ``tools/call`` latency, sequential, every path interleaved round by round (each
   round starting one path further on): median,
   p99, ratio to direct, the median a call adds over direct (target: under 3 ms), and
   the client's CPU per call (this process); and what the keys add to the median
   (``<variant>+keys`` minus ``<variant>``, per client mode).
2. Calls per second with 1 and with ``--concurrency`` clients for ``--duration`` seconds
   per path: MCP as asyncio tasks each with its own ``Client`` (its own session); REST,
   direct and raw POST as threads each with its own ``httpx.Client``. With the CPU per
   call of the server (the gunicorn worker or the MCP process) and of the upstream,
   measured over the timed window (Linux ``/proc``), and the CPU use of the server and
   of this client: near 100% of one core, that side is the limit (each is one Python
   process); and what the keys add to the server's CPU per call and to the rate (a path
   and its keyed twin run A B B A, half the duration each time, against drift).
3. ``tools/list`` latency on the ``--tools``-tool namespace (target: under 50 ms) and on
   the 2-tool fleet namespace (the baseline), the client's response cache bypassed;
   then a ``tools/call`` refused by the input-schema check (no upstream call) on both
   namespaces: what a call costs as the namespace grows. Rows run one after the other,
   so the server's CPU per call is its ``/proc`` time over the row (10 ms ticks).

Every part warms up first. The clients run in this one Python process; on a machine
with few cores they compete with the servers for CPU. No assertion on timings. Ctrl-C
(or SIGTERM) stops the servers and removes the temporary directory.

    .venv/bin/python bench/mcp_overhead.py [--calls 1000] [--warmup 100]
        [--concurrency 8] [--duration 5] [--lists 100] [--tools 1000]
        [--modes legacy,2026-07-28] [--servers stateful,stateless] [--imo IMO9321483]
        [--no-keys]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import (  # noqa: E402
    BENCH_REDIS_URL,
    INTERRUPTED,
    KEYS_ON,
    Interrupted,
    Workspace,
    checkpoint,
    cpu_seconds,
    manage,
    rate_limit_backend,
    redis_answers,
    wait_ready,
    worker_pids,
)
from bench.rest_overhead import GUNICORN_THREADS, Target, check, get, percentile  # noqa: E402
from tests.support.documents import generate  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

FLEET_NS = "fleet-tools"
TOOL = "get-ship"
MODERN = "2026-07-28"
RAW_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
TARGET_CALL_MS = 3.0
TARGET_LIST_MS = 50.0
KEYED = "+keys"  # the suffix of a keyed server's name


# --------------------------------------------------------------------------- paths


@dataclass
class Server:
    name: str  # "stateful" or "stateless", with KEYED for a server with keys on
    base: str  # http://127.0.0.1:PORT/mcp/
    pid: int
    headers: dict[str, str] = field(default_factory=dict)  # the client key, keyed servers

    def url(self, namespace: str) -> str:
        return self.base + namespace


@dataclass
class Route:
    """One way to run an operation: an SDK client mode, or a plain httpx call."""

    label: str
    pids: list[int] = field(default_factory=list)  # the server side whose CPU counts
    url: str = ""  # SDK routes: the MCP endpoint
    mode: str = ""  # SDK routes: the Client mode
    headers: dict[str, str] = field(default_factory=dict)  # SDK routes: on every request
    call: Callable[[Client], Awaitable[bool]] | None = None  # SDK routes
    http: Callable[[httpx.Client], bool] | None = None  # plain HTTP routes

    @property
    def sdk(self) -> bool:
        return self.call is not None


class RawPost:
    """One 2026-07-28 request as the SDK client sends it, without the SDK (body encoded once)."""

    def __init__(
        self, url: str, method: str, params: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": MODERN,
            "mcp-method": method,
            **(headers or {}),
        }
        if method == "tools/call":
            self.headers["mcp-name"] = params["name"]
        self.body = json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": RAW_META}}
        ).encode()

    def __call__(self, client: httpx.Client) -> bool:
        response = client.post(self.url, content=self.body, headers=self.headers)
        content = response.content
        return (
            response.status_code == 200
            and b'"result"' in content
            and b'"isError":true' not in content
        )

    def check(self, label: str, expect: str) -> int:
        """Exit unless the answer is a result with ``expect`` in it; the answer's size."""
        response = httpx.post(self.url, content=self.body, headers=self.headers, timeout=30)
        text = response.text
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            data = [line[5:] for line in text.splitlines() if line.startswith("data:")]
            text = data[-1] if data else ""
        try:
            result = json.loads(text)["result"]
        except (ValueError, KeyError, TypeError):
            sys.exit(f"{label}: {response.status_code} {response.text[:500]}")
        if expect not in json.dumps(result) or result.get("isError"):
            sys.exit(f"{label}: {response.text[:500]}")
        return len(response.content)


def tool_call(arguments: dict[str, Any], name: str = TOOL) -> Callable[[Client], Awaitable[bool]]:
    async def call(client: Client) -> bool:
        return not (await client.call_tool(name, arguments)).is_error

    return call


def refused_call(arguments: dict[str, Any], name: str) -> Callable[[Client], Awaitable[bool]]:
    """A call the registry refuses with ``invalid_arguments`` before any upstream call."""

    async def call(client: Client) -> bool:
        result = await client.call_tool(name, arguments)
        return bool(result.is_error) and "invalid_arguments" in result.content[0].text

    return call


async def list_tools(client: Client) -> bool:
    return bool((await client.list_tools(cache_mode="bypass")).tools)


async def connect(stack: AsyncExitStack, url: str, mode: str, headers: dict[str, str]) -> Client:
    """An SDK client on ``stack``; with ``headers``, through an ``httpx2.AsyncClient`` of
    its own that sends them (the SDK's default client's timeouts)."""
    if not headers:
        return await stack.enter_async_context(Client(url, mode=mode))
    http = await stack.enter_async_context(
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
    )
    return await stack.enter_async_context(
        Client(streamable_http_client(url, http_client=http), mode=mode)
    )


# --------------------------------------------------------------------------- measuring


class Failed(Exception):
    """A measured call did not succeed (raised through the SDK client's task groups)."""


@dataclass
class Series:
    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # this process, per call
    server_cpu_ms: float | None = None  # per call, when the block ran alone

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p99(self) -> float:
        return percentile(sorted(self.ms), 99)


async def timed(step: Callable[[], Awaitable[bool]], series: Series, label: str) -> None:
    checkpoint()
    start, cpu = time.perf_counter(), time.process_time()
    ok = await step()
    series.ms.append((time.perf_counter() - start) * 1000)
    series.cpu_ms.append((time.process_time() - cpu) * 1000)
    if not ok:
        raise Failed(f"{label}: the call failed")


async def sequential(routes: list[Route], calls: int, warmup: int) -> dict[str, Series]:
    """Latencies per route, the routes interleaved round by round, each round starting
    one route further on (a call right after another server's answer competes with that
    server's after-work for the CPU).

    One SDK session per SDK route and one shared ``httpx.Client`` for the others (whose
    blocking calls hold the event loop, which has nothing else to do meanwhile).
    """
    series = {route.label: Series() for route in routes}
    async with AsyncExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))
        steps: list[tuple[str, Callable[[], Awaitable[bool]]]] = []
        for route in routes:
            if route.sdk:
                client = await connect(stack, route.url, route.mode, route.headers)
                steps.append((route.label, _bind(route.call, client)))
            else:
                steps.append((route.label, _bind_sync(route.http, http)))
        for _ in range(warmup):
            for label, step in steps:
                await timed(step, Series(), label)
        for round_ in range(calls):
            shift = round_ % len(steps)  # every path takes each place equally often
            for label, step in steps[shift:] + steps[:shift]:
                await timed(step, series[label], label)
    return series


def _bind(call, client):
    return lambda: call(client)


def _bind_sync(http_call, client):
    async def step() -> bool:
        return http_call(client)

    return step


async def block(route: Route, calls: int, warmup: int) -> Series:
    """``calls`` in a row on one new session, with the server's CPU per call."""
    async with AsyncExitStack() as stack:
        if route.sdk:
            client = await connect(stack, route.url, route.mode, route.headers)
            step = _bind(route.call, client)
        else:
            step = _bind_sync(route.http, stack.enter_context(httpx.Client(timeout=60)))
        for _ in range(warmup):
            await timed(step, Series(), route.label)
        series = Series()
        before = cpu_seconds(route.pids)
        for _ in range(calls):
            await timed(step, series, route.label)
        after = cpu_seconds(route.pids)
        if before is not None and after is not None:
            series.server_cpu_ms = 1000 * (after - before) / calls
    return series


@dataclass
class Load:
    calls: int
    errors: int
    seconds: float
    client_cpu: float
    server_cpu: float | None
    upstream_cpu: float | None

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def __add__(self, other: Load) -> Load:
        return Load(
            self.calls + other.calls,
            self.errors + other.errors,
            self.seconds + other.seconds,
            self.client_cpu + other.client_cpu,
            _sum(self.server_cpu, other.server_cpu),
            _sum(self.upstream_cpu, other.upstream_cpu),
        )


class Window:
    """The timed window of a load: wall time and the CPU of this process and the servers."""

    def __init__(self, route: Route, upstream_pid: int) -> None:
        self.route = route
        self.upstream = [upstream_pid]

    def open(self) -> None:
        self.cpu = time.process_time()
        self.server = cpu_seconds(self.route.pids)
        self.upstream_before = cpu_seconds(self.upstream)
        self.start = time.perf_counter()

    def close(self, calls: int, errors: int) -> Load:
        seconds = time.perf_counter() - self.start
        return Load(
            calls,
            errors,
            seconds,
            time.process_time() - self.cpu,
            _delta(cpu_seconds(self.route.pids), self.server),
            _delta(cpu_seconds(self.upstream), self.upstream_before),
        )


def http_load(route: Route, clients: int, duration: float, warmup: int, window: Window) -> Load:
    """``clients`` threads, each with its own ``httpx.Client``, for ``duration`` seconds."""
    counts = [0] * clients
    errors = [0] * clients
    ready = threading.Barrier(clients + 1)
    deadline = [0.0]

    def run(index: int) -> None:
        try:
            with httpx.Client(timeout=30) as client:
                for _ in range(warmup):
                    route.http(client)
                ready.wait()
                ready.wait()  # the main thread has set the deadline
                while time.perf_counter() < deadline[0] and not INTERRUPTED.is_set():
                    try:
                        if route.http(client):
                            counts[index] += 1
                        else:
                            errors[index] += 1
                    except httpx.HTTPError:
                        errors[index] += 1
        except BaseException:
            ready.abort()  # the main thread must not wait for this one
            raise

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
        window.open()
        deadline[0] = window.start + duration
        ready.wait()
    except threading.BrokenBarrierError:
        sys.exit(f"{route.label}: a client failed during its warm-up")
    for thread in threads:
        thread.join()
    return window.close(sum(counts), sum(errors))


async def sdk_load(route: Route, sessions: int, duration: float, warmup: int, window: Window):
    """``sessions`` asyncio tasks, each with its own ``Client``, for ``duration`` seconds."""
    counts = [0] * sessions
    errors = [0] * sessions
    ready = asyncio.Barrier(sessions + 1)
    deadline = [0.0]

    async def run(index: int) -> None:
        try:
            async with AsyncExitStack() as stack:
                client = await connect(stack, route.url, route.mode, route.headers)
                for _ in range(warmup):
                    checkpoint()
                    await route.call(client)
                await ready.wait()
                await ready.wait()  # the deadline is set
                while time.perf_counter() < deadline[0]:
                    checkpoint()
                    try:
                        if await route.call(client):
                            counts[index] += 1
                        else:
                            errors[index] += 1
                    except Exception:  # a failed call counts; the session goes on
                        errors[index] += 1
                await ready.wait()  # every session has stopped calling: close the window
        except BaseException:
            await ready.abort()  # no one waits for a session that is gone
            raise

    tasks = [asyncio.create_task(run(i)) for i in range(sessions)]
    try:
        await ready.wait()
        window.open()
        deadline[0] = window.start + duration
        await ready.wait()
        await ready.wait()
    except asyncio.BrokenBarrierError:
        await asyncio.gather(*tasks)  # raises what broke it
        raise
    load = window.close(sum(counts), sum(errors))
    await asyncio.gather(*tasks)
    return load


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


# --------------------------------------------------------------------------- main


def main() -> None:
    try:
        measure()
    except BaseException as error:  # failures come wrapped in the SDK's exception groups
        leaf = error
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        if isinstance(leaf, KeyboardInterrupt | Interrupted):
            sys.exit("interrupted: servers stopped, temporary files removed")
        if isinstance(leaf, SystemExit):
            raise leaf from None
        if isinstance(leaf, Failed):
            sys.exit(str(leaf))
        raise


def measure() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="sequential calls per path")
    parser.add_argument(
        "--warmup", type=int, default=100, help="warm-up calls per path (a quarter per client)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent sessions/clients")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per throughput run")
    parser.add_argument("--lists", type=int, default=100, help="calls per row of part 3")
    parser.add_argument("--tools", type=int, default=1000, help="tools of the large namespace")
    parser.add_argument(
        "--modes", default=f"legacy,{MODERN}", help="SDK client modes (legacy, 2026-07-28, auto)"
    )
    parser.add_argument("--servers", default="stateful,stateless", help="MCP server variants")
    parser.add_argument("--imo", default="IMO9321483", help="the ship every call gets")
    parser.add_argument("--no-keys", action="store_true", help="no MCP servers with keys on")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress, row by row, on a pipe too
    modes = [m for m in args.modes.split(",") if m]
    variants = [s for s in args.servers.split(",") if s]
    if not modes or set(modes) - {"legacy", "auto", *MODERN_PROTOCOL_VERSIONS}:
        parser.error(f"--modes: legacy, auto or {', '.join(MODERN_PROTOCOL_VERSIONS)}")
    if not variants or set(variants) - {"stateful", "stateless"}:
        parser.error("--servers: stateful, stateless or both")

    # Each server variant, and after it its keyed twin.
    names = [n for v in variants for n in (v, *(() if args.no_keys else (v + KEYED,)))]
    ports = {name: free_port() for name in ("upstream", "gunicorn", *names)}
    with Workspace("bench-mcp-", REGISTRY_MAX_DOCUMENT_BYTES=str(64 * 1024 * 1024)) as ws:
        fleet = ws.fleet_document(ports["upstream"])
        large = ws.workdir / f"bench-{args.tools}.yaml"
        large.write_text(generate(args.tools))
        manage(ws.env, "migrate", "--verbosity", "0")
        manage(ws.env, "import_capability", str(fleet), str(large))
        key, redis = "", False
        keyed_env: dict[str, str] = {}
        if not args.no_keys:
            key = ws.create_client_key("bench", "shipyard-fleet", f"bench-{args.tools}")
            redis = redis_answers()
            keyed_env = {**KEYS_ON, **rate_limit_backend(redis)}
        upstream = ws.start_upstream(ports["upstream"])
        gunicorn = ws.start_gunicorn(ports["gunicorn"], "gthread", GUNICORN_THREADS)
        mcp_processes = {}
        for name in names:
            command = [sys.executable, "manage.py", "run_mcp_server", "--transport", "http"]
            command += ["--host", "127.0.0.1", "--port", str(ports[name])]
            command += ["--stateless"] if name.startswith("stateless") else []
            overrides = keyed_env if name.endswith(KEYED) else {}
            mcp_processes[name] = ws.spawn(f"mcp-{name}", command, **overrides)
        wait_ready(f"http://127.0.0.1:{ports['upstream']}/ships", upstream, ws.log("upstream"))
        wait_ready(f"http://127.0.0.1:{ports['gunicorn']}/rest/", gunicorn, ws.log("gunicorn"))
        servers = []
        for name, process in mcp_processes.items():
            base = f"http://127.0.0.1:{ports[name]}/mcp/"
            wait_ready(base, process, ws.log(f"mcp-{name}"))  # a 404 problem: it answers
            headers = {"Authorization": f"Bearer {key}"} if name.endswith(KEYED) else {}
            servers.append(Server(name, base, process.pid, headers))

        workers = worker_pids(gunicorn.pid)
        direct_target = Target(
            "direct",
            f"http://127.0.0.1:{ports['upstream']}/ships/{args.imo}",
            {"Authorization": f"Bearer {ws.token}"},
        )
        rest_target = Target(
            "rest", f"http://127.0.0.1:{ports['gunicorn']}/rest/fleet-api/ships/{args.imo}"
        )
        check(direct_target, "imo_number")
        check(rest_target, "imo")
        direct = Route("direct", http=lambda c: get(c, direct_target))
        rest = Route("rest (gunicorn)", workers, http=lambda c: get(c, rest_target))
        routes = [direct, rest, *tool_routes(servers, modes, {"imo": args.imo})]

        negotiated = asyncio.run(_negotiated(servers[0], modes))
        print(
            f'tools/call {TOOL} {{"imo": "{args.imo}"}} on /mcp/{FLEET_NS} (run_mcp_server '
            f"{' and '.join(s.name for s in servers)}) vs REST /rest/fleet-api/ships/<imo> "
            f"(gunicorn gthread, 1 worker x {GUNICORN_THREADS} threads) vs the upstream's "
            "/ships/<imo> direct; DEBUG=false, SQLite"
        )
        print(
            f"python {platform.python_version()}, {os.cpu_count()} CPUs, mcp {version('mcp')}; "
            f"client modes: {', '.join(f'{m} -> {v}' for m, v in negotiated.items())}; pids: "
            + ", ".join(f"{s.name} {s.pid}" for s in servers)
            + f", gunicorn worker {workers[0] if workers else '?'}, upstream {upstream.pid}"
        )
        if key:
            print(
                "keys: "
                + " and ".join(s.name for s in servers if s.name.endswith(KEYED))
                + ": "
                + ", ".join(f"{name}={value}" for name, value in KEYS_ON.items())
                + ", limit counted in "
                + (
                    f"Redis {BENCH_REDIS_URL}"
                    if redis
                    else f"the database (SQLite; Redis at {BENCH_REDIS_URL} does not answer)"
                )
                + f"; client key {key[:12]}… (Authorization: Bearer); the others: "
                "REGISTRY_REQUIRE_CLIENT_KEY=false, REGISTRY_RATE_LIMIT=off"
            )
            for server in servers:
                if server.name.endswith(KEYED):
                    print(f"   {server.name}: {_keys_checked(server)}")
        part_latency(args, routes)
        part_throughput(args, routes, upstream.pid)
        part_lists(args, servers, modes)


def _keys_checked(server: Server) -> str:
    """Whether the keyed server refuses a tools/call without the key (the MCP gateway's
    key check may not be wired in this tree); and the rate-limit header fields."""
    raw = RawPost(server.url(FLEET_NS), "tools/call", {"name": TOOL, "arguments": {"imo": "x"}})
    refused = httpx.post(raw.url, content=raw.body, headers=raw.headers, timeout=30)
    if refused.status_code in (401, 403):
        check = f"a tools/call without the key is {refused.status_code}"
    else:
        check = (
            f"a tools/call without the key is {refused.status_code}: this tree's MCP gateway "
            "does not check keys, so the keyed rows measure the environment alone"
        )
    keyed = RawPost(
        raw.url, "tools/call", {"name": TOOL, "arguments": {"imo": "x"}}, server.headers
    )
    answer = httpx.post(keyed.url, content=keyed.body, headers=keyed.headers, timeout=30)
    fields = sorted(name for name in answer.headers if name.lower().startswith("ratelimit"))
    return check + "; rate-limit header fields with it: " + (", ".join(fields) or "none")


def tool_routes(servers: list[Server], modes: list[str], arguments: dict) -> list[Route]:
    """Per MCP server: the SDK client in each mode, then the raw POST."""
    routes = []
    for server in servers:
        url = server.url(FLEET_NS)
        for mode in modes:
            routes.append(
                Route(
                    f"{server.name} {mode}",
                    [server.pid],
                    url,
                    mode,
                    server.headers,
                    call=tool_call(arguments),
                )
            )
        raw = RawPost(url, "tools/call", {"name": TOOL, "arguments": arguments}, server.headers)
        raw.check(f"{server.name} raw POST", arguments["imo"])
        routes.append(Route(f"{server.name} raw POST", [server.pid], http=raw))
    return routes


def part_latency(args, routes: list[Route]) -> None:
    series = asyncio.run(sequential(routes, args.calls, args.warmup))
    base = series["direct"].median
    print(
        f"\n1. sequential tools/call latency: {args.calls} calls per path after {args.warmup} "
        "warm-up, paths interleaved, the order rotated each round; one session per SDK path (ms)"
    )
    print(
        f"{'path':<26} {'median':>8} {'p99':>8} {'mean':>8} {'x direct':>9} "
        f"{'added':>8} {'client CPU/call':>16}"
    )
    for route in routes:
        s = series[route.label]
        print(
            f"{route.label:<26} {s.median:>8.3f} {s.p99:>8.3f} {statistics.fmean(s.ms):>8.3f} "
            f"{s.median / base:>9.2f} {s.median - base:>8.3f} {statistics.fmean(s.cpu_ms):>16.3f}"
        )
    added = {r.label: series[r.label].median - base for r in routes if r.sdk}
    met = [label for label, ms in added.items() if ms < TARGET_CALL_MS]
    print(
        f"target: a tools/call through the SDK client adds under {TARGET_CALL_MS:g} ms to the "
        f"median of direct: met by {len(met)} of {len(added)} paths"
        + (f" ({', '.join(met)})" if met else "")
    )
    pairs = _keyed_pairs(routes)
    if pairs:
        print(
            "keys on - off, median tools/call latency: "
            + "; ".join(
                f"{off} {1000 * (series[on].median - series[off].median):+.0f} µs"
                for off, on in pairs
            )
        )


def part_throughput(args, routes: list[Route], upstream_pid: int) -> None:
    levels = sorted({1, args.concurrency})
    pairs = _keyed_pairs(routes)
    warmup = max(1, args.warmup // 4)
    print(
        f"\n2. throughput: {' and '.join(map(str, levels))} concurrent clients for "
        f"{args.duration:g} s per path, after {warmup} warm-up calls per client; MCP: asyncio "
        "tasks, one Client (session) each; others: threads, one httpx.Client each"
        + ("; a path and its +keys twin A B B A, half the time each" if pairs else "")
    )
    print(
        f"{'path':<26} {'clients':>7} {'calls':>7} {'errors':>6} {'calls/s':>8} "
        f"{'x direct':>9} {'server CPU ms/call':>19} {'server CPU %':>13} "
        f"{'upstream CPU ms/call':>21} {'client CPU %':>13}"
    )
    twins = dict(pairs)
    by_label = {route.label: route for route in routes}
    for clients in levels:
        loads: dict[str, Load] = {}
        for route in routes:
            if route.label in loads:
                continue  # a keyed twin, measured with its route
            if route.label not in twins:
                loads[route.label] = _load(route, clients, args.duration, warmup, upstream_pid)
                _print_load(route, clients, loads)
                continue
            # A route and its keyed twin A B B A, half the duration each time, so that a
            # drift of the machine's load weighs on both alike; their rows one after the other.
            twin = by_label[twins[route.label]]
            half = args.duration / 2
            for part in (route, twin, twin, route):
                load = _load(part, clients, half, warmup, upstream_pid)
                loads[part.label] = loads[part.label] + load if part.label in loads else load
            _print_load(route, clients, loads)
            _print_load(twin, clients, loads)
        if pairs:
            print(
                f"keys on - off, {clients} client{'s' if clients > 1 else ''}, server CPU per "
                "call and rate: "
                + "; ".join(
                    f"{off} {_cpu_added(loads[off], loads[on])} x{_rate(loads[on], loads[off])}"
                    for off, on in pairs
                )
            )


def _load(route: Route, clients: int, duration: float, warmup: int, upstream_pid: int) -> Load:
    window = Window(route, upstream_pid)
    if route.sdk:
        return asyncio.run(sdk_load(route, clients, duration, warmup, window))
    return http_load(route, clients, duration, warmup, window)


def _print_load(route: Route, clients: int, loads: dict[str, Load]) -> None:
    load = loads[route.label]
    server_cpu, server_use = "-", "-"
    if route.pids and load.server_cpu is not None:
        server_cpu = _per_call(load.server_cpu, load)
        server_use = f"{100 * load.server_cpu / load.seconds:.0f}%"
    print(
        f"{route.label:<26} {clients:>7} {load.calls:>7} {load.errors:>6} "
        f"{load.rate:>8.0f} {load.rate / loads['direct'].rate:>9.2f} "
        f"{server_cpu:>19} {server_use:>13} {_per_call(load.upstream_cpu, load):>21} "
        f"{100 * load.client_cpu / load.seconds:>12.0f}%"
    )


def _keyed_pairs(routes: list[Route]) -> list[tuple[str, str]]:
    """(keys-off label, keys-on label) of every route that has a keyed twin."""
    labels = {route.label for route in routes}
    pairs = []
    for route in routes:
        name, _, rest = route.label.partition(" ")
        twin = f"{name}{KEYED} {rest}"
        if not name.endswith(KEYED) and twin in labels:
            pairs.append((route.label, twin))
    return pairs


def _cpu_added(off: Load, on: Load) -> str:
    if off.server_cpu is None or on.server_cpu is None or not off.calls or not on.calls:
        return "n/a"
    return f"{1e6 * (on.server_cpu / on.calls - off.server_cpu / off.calls):+.0f} µs"


def _rate(on: Load, off: Load) -> str:
    return f"{on.rate / off.rate:.2f}" if off.calls else "n/a"


def part_lists(args, servers: list[Server], modes: list[str]) -> None:
    large_ns = f"bench-{args.tools}-mcp"
    namespaces = [(FLEET_NS, 2), (large_ns, args.tools)]
    header = (
        f"{'path':<26} {'tools':>6} {'median':>8} {'p99':>8} {'mean':>8} {'x 2 tools':>10} "
        f"{'client CPU/call':>16} {'server CPU/call':>16}"
    )
    print(
        f"\n3. tools/list: {args.lists} lists per row after 5 warm-up, one session per row, "
        f"the SDK client's response cache bypassed; {FLEET_NS} (2 tools) is the baseline (ms)"
    )
    print(header)
    rows: dict[tuple[str, int], Series] = {}
    for server in servers:
        for mode in modes:
            label = f"{server.name} {mode}"
            for namespace, tools in namespaces:
                url = server.url(namespace)
                route = Route(label, [server.pid], url, mode, server.headers, call=list_tools)
                rows[label, tools] = asyncio.run(block(route, args.lists, 5))
                _print_row(label, tools, rows)
        label = f"{server.name} raw POST"
        for namespace, tools in namespaces:
            raw = RawPost(server.url(namespace), "tools/list", {}, server.headers)
            size = raw.check(label, TOOL if tools == 2 else "tool-0")
            rows[label, tools] = asyncio.run(
                block(Route(label, [server.pid], http=raw), args.lists, 5)
            )
            _print_row(label, tools, rows, f"  ({size} bytes)")
    sdk = {
        label: s.median for (label, tools), s in rows.items() if tools != 2 and "raw" not in label
    }
    met = [label for label, median in sdk.items() if median < TARGET_LIST_MS]
    print(
        f"target: tools/list of {args.tools} tools through the SDK client under "
        f"{TARGET_LIST_MS:g} ms (median): met by {len(met)} of {len(sdk)} paths"
        + (f" ({', '.join(met)})" if met else "")
    )

    print(
        "\n   tools/call refused by the input-schema check (invalid_arguments, no upstream "
        f"call): {args.lists} calls per row after 5 warm-up, one session per row (ms)"
    )
    print(header)
    refusals = {
        FLEET_NS: refused_call({"imo": 1}, TOOL),
        large_ns: refused_call({"item_id": 1}, "tool-0"),
    }
    rows = {}
    for server in servers:
        for mode in modes:
            label = f"{server.name} {mode}"
            for namespace, tools in namespaces:
                url = server.url(namespace)
                route = Route(
                    label, [server.pid], url, mode, server.headers, call=refusals[namespace]
                )
                rows[label, tools] = asyncio.run(block(route, args.lists, 5))
                _print_row(label, tools, rows)


async def _negotiated(server: Server, modes: list[str]) -> dict[str, str]:
    versions = {}
    for mode in modes:
        async with Client(server.url(FLEET_NS), mode=mode) as client:
            versions[mode] = client.protocol_version
    return versions


def _print_row(label: str, tools: int, rows: dict[tuple[str, int], Series], extra: str = ""):
    s = rows[label, tools]
    base = rows.get((label, 2))
    ratio = f"{s.median / base.median:.2f}" if base else "-"
    server = "n/a" if s.server_cpu_ms is None else f"{s.server_cpu_ms:.3f}"
    print(
        f"{label:<26} {tools:>6} {s.median:>8.3f} {s.p99:>8.3f} {statistics.fmean(s.ms):>8.3f} "
        f"{ratio:>10} "
        f"{statistics.fmean(s.cpu_ms):>16.3f} {server:>16}{extra}"
    )


def _per_call(cpu: float | None, load: Load) -> str:
    return "n/a" if cpu is None or not load.calls else f"{1000 * cpu / load.calls:.3f}"


if __name__ == "__main__":
    main()
