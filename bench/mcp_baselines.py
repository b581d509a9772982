"""The registry's MCP ``tools/call`` against the baselines it must beat, in one run.

Starts, as subprocesses of one workspace (``bench/_processes.py``):

- the upstream: Debian's nginx with fixed answers (``bench/baselines/upstream.py``), or
  the Python demo upstream when nginx is missing (said in the output);
- the registry's MCP server, ``manage.py run_mcp_server --transport http`` (as
  ``bench/mcp_overhead.py`` starts it: ``DEBUG=false``, keys off, rate limit off), serving
  ``fixtures/shipyard-fleet.yaml``'s ``get-ship`` tool at ``/mcp/fleet-tools`` (routing,
  binds, the upstream call, the 3-field mapping);
- FastMCP ``from_openapi`` (``bench/baselines/fastmcp_server.py``) over an OpenAPI
  document of the same ``GET /ships/{imo}`` with a bearer token;
- the MCP SDK's low-level ``Server`` (``bench/baselines/lowlevel_server.py``): one tool
  calling the upstream with a shared ``httpx.AsyncClient``;

each one uvicorn process with JSON answers (the registry's gateway answers JSON; the
baselines are told to), uvicorn choosing uvloop and httptools when they are installed.
With ``taskset`` and two CPUs the servers are pinned to one CPU and this process, the
load generator and the upstream to the other.

Each server is called in both protocol generations: ``2025-11-25`` (an ``initialize``
handshake per session, then ``tools/call`` POSTs carrying the ``Mcp-Session-Id``) and
``2026-07-28`` (self-contained POSTs, no session). The client is a raw JSON-RPC client,
not the SDK's: requests encoded once and sent over keep-alive connections, so the client
costs little and the servers' differences show. For ``--rounds`` interleaved rounds (the
order of the servers rotated each round): calls per second with ``--sessions``
concurrent sessions for ``--duration`` seconds per server and generation (``wrk``, one
connection and one MCP session per wrk thread, a Lua script counting any answer that is
not a successful tool result as an error; Python threads with one ``httpx.Client`` each
without wrk or with ``--python-load``), with the server process's CPU time per call over
that load (``/proc``, 10 ms ticks); and one session's sequential latency, every
server, generation and a direct call to the upstream interleaved on keep-alive
``httpx.Client`` s (``--calls`` per path per round).

It prints the figures and one table of ratios with issue 12's targets: the registry's
calls/s >= 3x FastMCP's and >= 2x the low-level server's with 8 sessions, in both
generations; one session's added median over a direct call <= 1.5 ms. Quote ratios:
absolute figures on a shared 2-core machine drift 10-35 % between runs.

    .venv/bin/python bench/mcp_baselines.py [--rounds 5] [--duration 5] [--sessions 8]
        [--calls 300] [--generations 2025-11-25,2026-07-28] [--python-load] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import INTERRUPTED, Workspace, cpu_seconds, manage, wait_ready  # noqa: E402
from bench.baselines.upstream import start_upstream  # noqa: E402
from bench.rest_baselines import Pinning, pinning  # noqa: E402
from bench.rest_overhead import percentile  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
GENERATIONS = (LEGACY, MODERN)
TOOL = "get-ship"
CLIENT_INFO = {"name": "mcp-baselines", "version": "0"}
# issue 12's targets for the registry
TARGET_FASTMCP = 3.0
TARGET_LOWLEVEL = 2.0
TARGET_ADDED_MS = 1.5
BASELINES = ROOT / "bench" / "baselines"


# --------------------------------------------------------------------------- the wire


@dataclass
class Endpoint:
    """One server's MCP endpoint in one protocol generation."""

    server: str  # registry, fastmcp, lowlevel
    generation: str
    url: str
    pid: int
    tool: str = TOOL
    body: bytes = b""
    base_headers: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.server} {self.generation}"

    def __post_init__(self) -> None:
        params: dict = {"name": self.tool, "arguments": {"imo": ""}}
        self.base_headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": self.generation,
        }
        if self.generation == MODERN:
            self.base_headers |= {"mcp-method": "tools/call", "mcp-name": self.tool}
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        self.params = params

    def for_ship(self, imo: str) -> None:
        self.params["arguments"]["imo"] = imo
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": self.params}
        self.body = json.dumps(message).encode()

    def session(self, client: httpx.Client) -> dict[str, str]:
        """The headers of one session's calls: for 2025-11-25, after its handshake."""
        if self.generation == MODERN:
            return dict(self.base_headers)
        opening = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": CLIENT_INFO},
        }
        headers = {k: v for k, v in self.base_headers.items() if k != "mcp-protocol-version"}
        answer = client.post(self.url, json=opening, headers=headers)
        session = answer.headers.get("mcp-session-id")
        if answer.status_code != 200 or not session:
            sys.exit(f"{self.label}: initialize answered {answer.status_code} {answer.text[:300]}")
        headers = {**self.base_headers, "mcp-session-id": session}
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        answer = client.post(self.url, json=done, headers=headers)
        if answer.status_code >= 300:
            sys.exit(f"{self.label}: notifications/initialized answered {answer.status_code}")
        return headers

    def call(self, client: httpx.Client, headers: dict[str, str]) -> bool:
        answer = client.post(self.url, content=self.body, headers=headers)
        return answer.status_code == 200 and b'"isError":false' in answer.content

    def check(self, imo: str) -> None:
        with httpx.Client(timeout=30) as client:
            answer = client.post(self.url, content=self.body, headers=self.session(client))
        if answer.status_code != 200 or b'"isError":false' not in answer.content:
            sys.exit(f"{self.label}: {answer.status_code} {answer.text[:500]}")
        if imo.encode() not in answer.content:
            sys.exit(f"{self.label}: the answer does not name {imo}: {answer.text[:500]}")


@dataclass
class Direct:
    """The upstream called directly: the baseline of the added latency."""

    url: str
    token: str
    label: str = "direct"

    def session(self, client: httpx.Client) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, client: httpx.Client, headers: dict[str, str]) -> bool:
        return client.get(self.url, headers=headers).status_code == 200


# --------------------------------------------------------------------------- load


@dataclass
class Load:
    calls: int
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers = {{}}
{headers}
local sessions = {{{sessions}}}
local threads = {{}}
local counter = 0
function setup(thread)
  counter = counter + 1
  if sessions[counter] then thread:set("sid", sessions[counter]) end
  table.insert(threads, thread)
end
function init(args)
  if sid then wrk.headers["Mcp-Session-Id"] = sid end
  req = wrk.format()
  bad = 0
end
function request() return req end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"isError":false', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("BENCH calls %d bad %d seconds %f\\n",
    summary.requests, total, summary.duration / 1e6))
end
"""


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string for this ASCII text


class Wrk:
    """``wrk``, one thread and one connection per session (pinned with this process)."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        first = subprocess.run([binary, "-v"], capture_output=True, text=True)
        self.version = (first.stdout or first.stderr).split("\n", 1)[0].split(" Copyright")[0]

    def describe(self) -> str:
        return f"{self.version.strip()} ({self.binary}): one thread, one connection per session"

    def __call__(self, endpoint: Endpoint, sessions: int, duration: float) -> Load:
        ids = []
        headers = ""
        with httpx.Client(timeout=30) as client:
            for _ in range(sessions):
                opened = endpoint.session(client)
                ids.append(opened.get("mcp-session-id", ""))
        for name, value in endpoint.base_headers.items():
            headers += f"wrk.headers[{_lua(name)}] = {_lua(value)}\n"
        script = WRK_SCRIPT.format(
            body=_lua(endpoint.body.decode()),
            headers=headers,
            sessions=", ".join(_lua(i) for i in ids if i),
        )
        path = self.workdir / "tools-call.lua"
        path.write_text(script)
        command = [self.binary, "-t", str(sessions), "-c", str(sessions), "-d", f"{duration:g}s"]
        command += ["--timeout", "10s", "-s", str(path), endpoint.url]
        result = subprocess.run(command, capture_output=True, text=True)
        line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH ")), None)
        if result.returncode or line is None:
            sys.exit(f"wrk against {endpoint.label}: exit {result.returncode}\n{result.stdout}")
        fields = line.split()
        calls, bad, seconds = int(fields[2]), int(fields[4]), float(fields[6])
        errors = bad + sum(int(x) for x in _socket_errors(result.stdout))
        return Load(calls - bad, errors, seconds)


def _socket_errors(output: str) -> list[str]:
    for line in output.splitlines():
        if "Socket errors:" in line:
            return [part.strip().split()[-1] for part in line.split(":", 1)[1].split(",")]
    return []


class PythonLoad:
    """Threads of this process, one keep-alive ``httpx.Client`` (and session) each."""

    def describe(self) -> str:
        return "Python threads, one keep-alive httpx.Client and session each (no wrk, or asked)"

    def __call__(self, endpoint: Endpoint, sessions: int, duration: float) -> Load:
        counts, errors = [0] * sessions, [0] * sessions
        ready = threading.Barrier(sessions + 1)
        deadline = [0.0]

        def run(index: int) -> None:
            with httpx.Client(timeout=30) as client:
                headers = endpoint.session(client)
                ready.wait()
                ready.wait()
                while time.perf_counter() < deadline[0] and not INTERRUPTED.is_set():
                    try:
                        ok = endpoint.call(client, headers)
                    except httpx.HTTPError:
                        ok = False
                    counts[index] += ok
                    errors[index] += not ok

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(sessions)]
        for thread in threads:
            thread.start()
        ready.wait()
        start = time.perf_counter()
        deadline[0] = start + duration
        ready.wait()
        for thread in threads:
            thread.join()
        return Load(sum(counts), sum(errors), time.perf_counter() - start)


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    endpoint: Endpoint
    rates: list[float] = field(default_factory=list)
    cpu_us: list[float | None] = field(default_factory=list)
    errors: int = 0

    def measure(self, generate, sessions: int, duration: float) -> Load:
        before = cpu_seconds([self.endpoint.pid])
        load = generate(self.endpoint, sessions, duration)
        after = cpu_seconds([self.endpoint.pid])
        known = before is not None and after is not None and load.calls
        self.rates.append(load.rate)
        self.cpu_us.append(1e6 * (after - before) / load.calls if known else None)  # type: ignore[operator]
        self.errors += load.errors
        return load


def sequential(paths: list, calls: int) -> dict[str, list[float]]:
    """Latencies in ms per path, the paths interleaved call by call, each on a keep-alive
    client (and session) of its own; each pass starts one path further on."""
    clients = [httpx.Client(timeout=30) for _ in paths]
    try:
        headers = [p.session(c) for p, c in zip(paths, clients, strict=True)]
        times: dict[str, list[float]] = {p.label: [] for p in paths}
        order = list(range(len(paths)))
        for n in range(calls):
            if INTERRUPTED.is_set():
                raise KeyboardInterrupt
            shift = n % len(order)
            for i in order[shift:] + order[:shift]:
                start = time.perf_counter()
                ok = paths[i].call(clients[i], headers[i])
                times[paths[i].label].append((time.perf_counter() - start) * 1000)
                if not ok:
                    sys.exit(f"{paths[i].label}: a sequential call failed")
        return times
    finally:
        for client in clients:
            client.close()


def _ratios(a: list, b: list) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True) if x is not None and y]


def _spread(ratios: list[float]) -> str:
    if not ratios:
        return "n/a"
    return f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"


def _median(values: list) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


# --------------------------------------------------------------------------- main


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 5)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load")
    parser.add_argument("--sessions", type=int, default=8, help="concurrent sessions")
    parser.add_argument("--calls", type=int, default=300, help="sequential calls per path/round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load per path first")
    parser.add_argument("--generations", default=",".join(GENERATIONS), help="protocol versions")
    parser.add_argument("--servers", default="registry,fastmcp,lowlevel", help="servers to run")
    parser.add_argument("--imo", default="IMO9321483", help="the ship every call gets")
    parser.add_argument("--python-load", action="store_true", help="Python threads, not wrk")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s, 100 calls")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.calls, args.warmup = 2, 2.0, 100, 1.0
    args.generations = [g for g in args.generations.split(",") if g]
    args.servers = [s for s in args.servers.split(",") if s]
    if set(args.generations) - set(GENERATIONS) or not args.generations:
        parser.error(f"--generations: {', '.join(GENERATIONS)}")
    if set(args.servers) - {"registry", "fastmcp", "lowlevel"} or "registry" not in args.servers:
        parser.error("--servers: registry and any of fastmcp, lowlevel")
    return args


def start_servers(
    ws: Workspace, args, pins: Pinning, ports: dict[str, int]
) -> dict[str, tuple[str, int]]:
    """Each server process, pinned; its MCP endpoint's URL and its pid, by server name."""
    upstream = f"http://127.0.0.1:{ports['upstream']}"
    urls = {}
    for name in args.servers:
        port = str(ports[name])
        if name == "registry":
            command = [sys.executable, "manage.py", "run_mcp_server", "--transport", "http"]
            command += ["--host", "127.0.0.1", "--port", port]
            path = "/mcp/fleet-tools"
        else:
            command = [sys.executable, str(BASELINES / f"{name}_server.py"), port, upstream]
            path = "/mcp"
        process = ws.spawn(name, [*pins.prefix, *command], BENCH_UPSTREAM_TOKEN=ws.token)
        wait_ready(f"http://127.0.0.1:{port}{path}", process, ws.log(name))
        urls[name] = (f"http://127.0.0.1:{port}{path}", process.pid)
    return urls


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def main() -> None:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if "fastmcp" in args.servers and _version("fastmcp") == "not installed":
        sys.exit("FastMCP is not installed: .venv/bin/pip install -e '.[dev,bench]' (make bench)")
    pins = pinning()
    ports = {name: free_port() for name in ("upstream", *args.servers)}
    with Workspace("bench-mcp-baselines-") as ws:
        process, upstream_name = start_upstream(ws, ports["upstream"])
        direct = Direct(f"http://127.0.0.1:{ports['upstream']}/ships/{args.imo}", ws.token)
        wait_ready(direct.url, process, ws.log("upstream"))
        manage(ws.env, "migrate", "--verbosity", "0")
        manage(ws.env, "import_capability", str(ws.fleet_document(ports["upstream"])))
        urls = start_servers(ws, args, pins, ports)
        rows = []
        for name in args.servers:
            for generation in args.generations:
                url, pid = urls[name]
                tool = "get_ship" if name == "fastmcp" else TOOL  # FastMCP slugs operationIds
                endpoint = Endpoint(name, generation, url, pid, tool)
                endpoint.for_ship(args.imo)
                endpoint.check(args.imo)
                rows.append(Row(endpoint))
        binary = None if args.python_load else shutil.which("wrk")
        generate = PythonLoad() if binary is None else Wrk(binary, ws.workdir)
        header(args, pins, generate, upstream_name, rows)
        run(args, generate, direct, rows)


def header(args, pins: Pinning, generate, upstream: str, rows: list[Row]) -> None:
    print(
        f"MCP baselines: tools/call {TOOL} {{imo: {args.imo}}}, {args.rounds} interleaved rounds;"
        f" per round and path: {args.duration:g} s with {args.sessions} sessions, then "
        f"{args.calls} sequential calls on one session"
    )
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; {pins.describe()}")
    print(
        f"mcp {_version('mcp')}, fastmcp {_version('fastmcp')}, uvicorn {_version('uvicorn')}, "
        f"uvloop {_version('uvloop')}, httptools {_version('httptools')}"
    )
    print(f"load generator: {generate.describe()}; sequential: raw JSON-RPC on httpx.Client")
    print(f"upstream: {upstream}")
    print(
        "servers (one uvicorn process each, JSON answers): registry = run_mcp_server "
        "(DEBUG=false, keys off, rate limit off, 3-field mapping); fastmcp = FastMCP "
        "from_openapi (httpx2.AsyncClient); lowlevel = SDK low-level Server (httpx.AsyncClient)"
    )
    pids = {}
    for row in rows:
        pids[row.endpoint.server] = row.endpoint.pid
    cpus = []
    for name, pid in pids.items():
        try:
            cpus.append(f"{name} {pid} ({','.join(map(str, sorted(os.sched_getaffinity(pid))))})")
        except OSError:
            cpus.append(f"{name} {pid}")
    print("server processes (pid, CPUs): " + ", ".join(cpus))


def run(args, generate, direct: Direct, rows: list[Row]) -> None:
    for row in rows:  # warm each server, its pools and sessions
        generate(row.endpoint, args.sessions, args.warmup)
    paths = [direct, *(row.endpoint for row in rows)]
    sequential(paths, 20)
    latencies: dict[str, list[float]] = {p.label: [] for p in paths}
    for round_ in range(args.rounds):
        shift = round_ % len(rows)
        line = []
        for row in rows[shift:] + rows[:shift]:
            load = row.measure(generate, args.sessions, args.duration)
            line.append(f"{row.endpoint.label} {load.rate:.0f}")
        timings = sequential(paths, args.calls)
        for label, values in timings.items():
            latencies[label].extend(values)
        medians = ", ".join(f"{p.label} {statistics.median(timings[p.label]):.2f}" for p in paths)
        print(f"round {round_ + 1}/{args.rounds}: calls/s {', '.join(line)}")
        print(f"    median ms: {medians}")
    report(args, rows, {k: sorted(v) for k, v in latencies.items()})


def report(args, rows: list[Row], latencies: dict[str, list[float]]) -> None:
    base = statistics.median(latencies["direct"])
    print(
        f"\nfigures (median over {args.rounds} rounds; latency over every sequential call; "
        f"direct median {base:.3f} ms, p99 {percentile(latencies['direct'], 99):.3f} ms)"
    )
    print(
        f"{'path':<22}{'calls/s':>9}{'CPU µs/call':>13}{'median ms':>11}{'added ms':>10}"
        f"{'p99 ms':>9}{'errors':>8}"
    )
    for row in rows:
        values = latencies[row.endpoint.label]
        rate, cpu = _median(row.rates), _median(row.cpu_us)
        print(
            f"{row.endpoint.label:<22}{rate or 0:>9.0f}{'-' if cpu is None else f'{cpu:.0f}':>13}"
            f"{statistics.median(values):>11.3f}{statistics.median(values) - base:>+10.3f}"
            f"{percentile(values, 99):>9.3f}{row.errors:>8}"
        )
    print(
        f"\nratios of the registry, {args.sessions} sessions: per-round ratio, median "
        "[min-max] over rounds; CPU = the registry's server CPU per call over the other's"
    )
    print(f"{'generation':<12}{'against':<10}{'calls/s':>20}{'target':>9}{'CPU/call':>20}")
    verdicts = []
    registry = {r.endpoint.generation: r for r in rows if r.endpoint.server == "registry"}
    for row in rows:
        if row.endpoint.server == "registry":
            continue
        mine = registry[row.endpoint.generation]
        rate = _ratios(mine.rates, row.rates)
        cpu = _ratios(mine.cpu_us, row.cpu_us)
        target = TARGET_FASTMCP if row.endpoint.server == "fastmcp" else TARGET_LOWLEVEL
        print(
            f"{row.endpoint.generation:<12}{row.endpoint.server:<10}{_spread(rate):>20}"
            f"{'>= ' + f'{target:g}':>9}{_spread(cpu):>20}"
        )
        met = bool(rate) and statistics.median(rate) >= target
        verdicts.append(f"{row.endpoint.label} x{target:g} {'met' if met else 'NOT met'}")
    for generation, row in registry.items():
        added = statistics.median(latencies[row.endpoint.label]) - base
        met = added <= TARGET_ADDED_MS
        print(
            f"{generation:<12}{'direct':<10}{'added median ' + f'{added:+.3f} ms':>20}"
            f"{'<= ' + f'{TARGET_ADDED_MS:g}':>9}"
        )
        verdicts.append(f"added median {generation} {'met' if met else 'NOT met'}")
    print("registry against issue 12's MCP targets: " + ", ".join(verdicts))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: servers stopped, temporary files removed")
