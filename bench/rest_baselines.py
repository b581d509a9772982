"""The registry's REST surface against the baselines it must beat, measured in one run.

Starts, as subprocesses of one workspace (``bench/_processes.py``):

- the upstream: Debian's nginx with fixed answers (``bench/baselines/upstream.py``: the
  demo fleet's JSON for ``/ships/<imo>``, bearer token checked), or the Python demo
  upstream when nginx is missing (said in the output);
- the naive proxy (``bench/baselines/naive_proxy``: Django's default middleware, DRF's
  defaults, an ``APIView`` calling one shared ``httpx.Client``, mapping nothing) and its
  lean variant (``BENCH_PROXY_LEAN=1``: no middleware, the JSON renderer only);
- the registry as ``bench/rest_overhead.py`` starts it (``DEBUG=false``, keys off, rate
  limit off; ``/rest/fleet-api/ships/<imo>``: routing, binds, the call, the 3-field
  mapping of ``fixtures/shipyard-fleet.yaml``), and unless ``--no-keys`` a second one
  with keys on (a client key granted ``shipyard-fleet``, a limit that is counted but never
  reached);

every server with one worker: the proxies under ``gunicorn -k gthread --threads 8`` (the
registry's thread count in ``rest_overhead.py``; ``--proxy-server``), the registry under
each ``--server`` given (by default ``granian:4``, the production server of
``docs/deployment.md``, and ``gunicorn:8``; ``granian:2`` is granian's WSGI interface with
2 blocking threads), side by side in the same rounds, the keyed registry
under the first. With ``taskset`` and two CPUs, the servers are pinned to one CPU and
this process, the load generator and the upstream to the other.

Then, for ``--rounds`` interleaved rounds (the order of the systems rotated each round):
requests per second of each system at each ``--concurrency`` for ``--duration`` seconds
(``wrk``, one thread, when installed; else threads of this process with one keep-alive
``httpx.Client`` each), with the gunicorn worker's CPU time per request over that load
(``utime + stime`` from ``/proc``, 10 ms ticks); and the sequential latency of every
system and of a direct call to the upstream, interleaved on one keep-alive client
(``--requests`` per system per round).

It prints the figures and one table of ratios against the naive proxy, with issue 12's
targets for the registry: req/s ≥ 2x the naive proxy's at every concurrency, CPU per
request ≤ 0.5x, added median latency over a direct call ≤ 1 ms, p99 ≤ the naive proxy's.
A per-round ratio compares two systems measured minutes apart at most; the table gives
their median and range over the rounds. A noisy 2-core machine varies 10-35 % between
runs: quote ratios, not absolute figures.

    .venv/bin/python bench/rest_baselines.py [--rounds 5] [--duration 8]
        [--concurrency 16 64] [--requests 400] [--no-keys] [--python-load] [--quick]
        [--server gunicorn:8 granian:2 ...] [--proxy-server gunicorn:8]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import (  # noqa: E402
    KEYS_ON,
    Workspace,
    cpu_seconds,
    manage,
    rate_limit_backend,
    redis_answers,
    wait_ready,
    worker_pids,
)
from bench.baselines.upstream import start_upstream  # noqa: E402
from bench.rest_overhead import (  # noqa: E402
    CAPABILITY,
    GUNICORN_THREADS,
    Load,
    Target,
    check,
    check_keyed,
    concurrent,
    percentile,
    sequential,
)
from tests.support.processes import free_port  # noqa: E402

NAIVE_APP = "bench.baselines.naive_proxy.wsgi"
NAIVE_SETTINGS = "bench.baselines.naive_proxy.settings"
# issue 12's targets for the registry, against the naive proxy
TARGET_RATE = 2.0
TARGET_CPU = 0.5
TARGET_ADDED_MS = 1.0
TARGET_P99 = 1.0
WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
SERVERS = ("gunicorn", "granian")


@dataclass(frozen=True)
class Server:
    """A WSGI server and its thread count: ``gunicorn:8`` (gthread), ``granian:2``
    (blocking threads), one worker either way; ``granian`` alone takes ``--threads``."""

    name: str
    threads: int = 0  # 0: --threads

    def __str__(self) -> str:
        return f"{self.name}:{self.threads}"

    def describe(self) -> str:
        if self.name == "granian":
            return f"granian --interface wsgi, 1 worker x {self.threads} blocking threads"
        return f"gunicorn -k gthread, 1 worker x {self.threads} threads"


def server_spec(text: str) -> Server:
    name, colon, threads = text.partition(":")
    if name not in SERVERS or (colon and (not threads.isdigit() or int(threads) < 1)):
        raise argparse.ArgumentTypeError(f"{text!r}: SERVER[:THREADS], SERVER one of {SERVERS}")
    return Server(name, int(threads or 0))


# --------------------------------------------------------------------------- pinning


@dataclass
class Pinning:
    """Where the servers run and where the load runs (CPU numbers), or nothing pinned."""

    server: int | None = None
    load: int | None = None

    @property
    def prefix(self) -> tuple[str, ...]:
        return () if self.server is None else ("taskset", "-c", str(self.server))

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (no taskset, or fewer than 2 CPUs)"
        return (
            f"servers pinned to CPU {self.server} (taskset); this process, the load generator "
            f"and the upstream to CPU {self.load}"
        )


def pinning() -> Pinning:
    """Servers on the last allowed CPU, everything else on the first; this process moves
    there now, so what it starts (the upstream, the load) follows it."""
    allowed = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(allowed) < 2:
        return Pinning()
    pins = Pinning(server=allowed[-1], load=allowed[0])
    os.sched_setaffinity(0, {pins.load})
    return pins


# --------------------------------------------------------------------------- load


class Wrk:
    """``wrk`` with one thread (pinned with this process), parsed."""

    SUMMARY = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b")
    NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
    SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")

    def __init__(self, binary: str) -> None:
        self.binary = binary
        version = subprocess.run([binary, "-v"], capture_output=True, text=True)
        first = (version.stdout or version.stderr).split("\n", 1)[0]
        self.version = first.split(" Copyright", 1)[0].strip()

    def describe(self) -> str:
        return f"{self.version} ({self.binary}), 1 thread, keep-alive"

    def __call__(self, target: Target, connections: int, duration: float) -> Load:
        command = [self.binary, "-t", "1", "-c", str(connections)]
        command += ["-d", f"{duration:g}s", "--timeout", "10s"]
        for name, value in target.headers.items():
            command += ["-H", f"{name}: {value}"]
        command.append(target.url)
        result = subprocess.run(command, capture_output=True, text=True)  # on our CPU
        summary = self.SUMMARY.search(result.stdout)
        if result.returncode or summary is None:
            sys.exit(f"wrk against {target.label}: exit {result.returncode}\n{result.stdout}")
        seconds = float(summary.group(2)) * WRK_UNITS[summary.group(3)]
        found = self.NON_2XX.search(result.stdout)
        non_2xx = int(found.group(1)) if found else 0
        socket = self.SOCKET.search(result.stdout)
        errors = non_2xx + (sum(int(n) for n in socket.groups()) if socket else 0)
        return Load(int(summary.group(1)) - non_2xx, errors, seconds, 0.0)


class PythonLoad:
    """Threads of this process, one keep-alive ``httpx.Client`` each (``rest_overhead``)."""

    def describe(self) -> str:
        return (
            "Python threads, one keep-alive httpx.Client each (wrk not installed, or "
            "--python-load): at high concurrency the client may be the limit"
        )

    def __call__(self, target: Target, connections: int, duration: float) -> Load:
        return concurrent(target, connections, duration, warmup=0)


def load_generator(args) -> Wrk | PythonLoad:
    binary = None if args.python_load else shutil.which("wrk")
    return PythonLoad() if binary is None else Wrk(binary)


# --------------------------------------------------------------------------- results


@dataclass
class System:
    """One server under test and what each round measured of it."""

    target: Target
    rates: dict[int, list[float]] = field(default_factory=dict)  # req/s per round
    cpu_us: dict[int, list[float | None]] = field(default_factory=dict)  # per request
    errors: int = 0

    @property
    def label(self) -> str:
        return self.target.label

    def measure(self, generate, connections: int, duration: float) -> Load:
        before = cpu_seconds(self.target.pids)
        load = generate(self.target, connections, duration)
        after = cpu_seconds(self.target.pids)
        cpu = None if before is None or after is None or not load.requests else after - before
        self.rates.setdefault(connections, []).append(load.rate)
        self.cpu_us.setdefault(connections, []).append(
            None if cpu is None else 1e6 * cpu / load.requests
        )
        self.errors += load.errors
        return load


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _ratios(numerators: list[float | None], denominators: list[float | None]) -> list[float]:
    return [n / d for n, d in zip(numerators, denominators, strict=True) if n is not None and d]


def _spread(ratios: list[float]) -> str:
    if not ratios:
        return "n/a"
    return f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"


# --------------------------------------------------------------------------- main


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 5)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per load")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[16, 64], help="connections per load"
    )
    parser.add_argument(
        "--requests", type=int, default=400, help="sequential requests per system per round"
    )
    parser.add_argument("--warmup", type=int, default=200, help="sequential warm-up per system")
    parser.add_argument("--imo", default="IMO9321483", help="the ship every request gets")
    parser.add_argument(
        "--server",
        type=server_spec,
        nargs="+",
        default=[Server("granian", 4), Server("gunicorn", GUNICORN_THREADS)],
        help="the registry's server(s), SERVER[:THREADS] each (default: granian:4 gunicorn:8)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=GUNICORN_THREADS,
        help="threads of a --server given without its own",
    )
    parser.add_argument(
        "--proxy-server",
        type=server_spec,
        default=Server("gunicorn", GUNICORN_THREADS),
        help="the naive and lean proxies' server, SERVER[:THREADS]",
    )
    parser.add_argument("--no-keys", action="store_true", help="no keyed registry")
    parser.add_argument("--python-load", action="store_true", help="Python threads, not wrk")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 rounds of 2 s, 100 requests"
    )
    args = parser.parse_args()
    args.server = [s if s.threads else Server(s.name, args.threads) for s in args.server]
    if not args.proxy_server.threads:
        args.proxy_server = Server(args.proxy_server.name, args.threads)
    if len(set(args.server)) != len(args.server):
        parser.error("each --server once")
    if args.quick:
        args.rounds, args.duration, args.requests, args.warmup = 2, 2.0, 100, 50
    return args


def main() -> None:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress on a pipe too
    pins = pinning()
    generate = load_generator(args)
    ports = {name: free_port() for name in ("upstream", "naive", "lean", "keys")}
    with Workspace("bench-baselines-") as workspace:
        env = workspace.env
        upstream, upstream_name = start_upstream(workspace, ports["upstream"])
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "import_capability", str(workspace.fleet_document(ports["upstream"])))
        proxy = {
            "DJANGO_SETTINGS_MODULE": NAIVE_SETTINGS,
            "BENCH_UPSTREAM_URL": f"http://127.0.0.1:{ports['upstream']}",
        }
        servers = {
            "naive": ("naive", NAIVE_APP, {**proxy, "BENCH_PROXY_LEAN": "0"}),
            "lean": ("lean", NAIVE_APP, {**proxy, "BENCH_PROXY_LEAN": "1"}),
        }
        kinds = {"naive": args.proxy_server, "lean": args.proxy_server}
        for server in args.server:
            name = registry_label(args, server)
            ports[name] = free_port()
            servers[name] = (name, "registry.wsgi", {})
            kinds[name] = server
        secret, secret_note = "", ""
        if not args.no_keys:
            secret = workspace.create_client_key("bench", CAPABILITY)
            redis = redis_answers()
            keyed = {**KEYS_ON, **rate_limit_backend(redis)}
            servers["keys"] = ("registry+keys", "registry.wsgi", keyed)
            kinds["keys"] = args.server[0]
            secret_note = f"limit counted in {'Redis' if redis else 'the database'}"
        started = {
            name: workspace.start_server(
                kinds[name].name,
                ports[name],
                kinds[name].threads,
                label,
                app,
                pins.prefix,
                **overrides,
            )
            for name, (label, app, overrides) in servers.items()
        }
        direct = Target(
            "direct",
            f"http://127.0.0.1:{ports['upstream']}/ships/{args.imo}",
            {"Authorization": f"Bearer {workspace.token}"},
        )
        wait_ready(direct.url, upstream, workspace.log("upstream"))
        systems = []
        for name, process in started.items():
            label = servers[name][0]
            path = "/ships/" if name in ("naive", "lean") else "/rest/fleet-api/ships/"
            wait_ready(f"http://127.0.0.1:{ports[name]}/", process, workspace.log(label))
            headers = {"Authorization": f"Bearer {secret}"} if name == "keys" else {}
            target = Target(label, f"http://127.0.0.1:{ports[name]}{path}{args.imo}", headers)
            target.pids = worker_pids(process.pid)
            systems.append(System(target))
        check(direct, "imo_number")
        for system in systems:
            if system.label == "registry+keys":
                check_keyed(system.target)
            else:
                check(system.target, "imo" if is_registry(system) else "imo_number")
        header(args, pins, generate, upstream_name, systems, secret, secret_note)
        run(args, generate, direct, systems)


def registry_label(args, server: Server) -> str:
    """``registry`` alone; ``registry gunicorn:8`` when several servers are compared."""
    return "registry" if len(args.server) == 1 else f"registry {server}"


def is_registry(system: System) -> bool:
    """The registry without keys (one per ``--server``)."""
    return system.label.startswith("registry") and system.label != "registry+keys"


def header(
    args, pins: Pinning, generate, upstream: str, systems: list[System], secret: str, note: str
):
    print(
        f"REST baselines: GET {args.imo}, {args.rounds} interleaved rounds; per round and "
        f"system: {args.duration:g} s of load at c{' c'.join(map(str, args.concurrency))}, "
        f"then {args.requests} sequential requests"
    )
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; {pins.describe()}")
    print(f"load generator: {generate.describe()}")
    print(f"upstream: {upstream}")
    registries = "; ".join(
        f"{registry_label(args, server)}: {server.describe()}" for server in args.server
    )
    print(f"servers: naive and lean: {args.proxy_server.describe()}; {registries}")
    print(
        "naive = Django "
        "default middleware + DRF defaults + shared httpx.Client; lean = no middleware, JSON "
        "renderer only; registry = DEBUG=false, keys off, rate limit off (3-field mapping)"
        + (
            f"; registry+keys = {', '.join(f'{k}={v}' for k, v in KEYS_ON.items())}, "
            f"{note}, client key {secret[:12]}…"
            if secret
            else ""
        )
    )
    print("workers (pid, CPUs): " + ", ".join(_worker(s.target) for s in systems))


def _worker(target: Target) -> str:
    if not target.pids:
        return f"{target.label} ?"
    try:
        cpus = ",".join(map(str, sorted(os.sched_getaffinity(target.pids[0]))))
    except OSError:
        cpus = "?"
    return f"{target.label} {target.pids[0]} ({cpus})"


def run(args, generate, direct: Target, systems: list[System]) -> None:
    targets = [direct, *(s.target for s in systems)]
    sequential(targets, 0, args.warmup)
    for system in systems:  # warm the pools and the threads under load
        generate(system.target, max(args.concurrency), min(2.0, args.duration))
    latencies: dict[str, list[float]] = {t.label: [] for t in targets}
    for round_ in range(args.rounds):
        shift = round_ % len(systems)
        order = systems[shift:] + systems[:shift]
        line = []
        for connections in args.concurrency:
            rates = []
            for system in order:
                load = system.measure(generate, connections, args.duration)
                rates.append(f"{system.label} {load.rate:.0f}")
            line.append(f"c{connections}: " + ", ".join(rates))
        timings = sequential(targets, args.requests, 0)
        for label, values in timings.items():
            latencies[label].extend(values)
        medians = ", ".join(f"{t.label} {statistics.median(timings[t.label]):.2f}" for t in targets)
        print(f"round {round_ + 1}/{args.rounds}: req/s " + "; ".join(line))
        print(f"    median ms: {medians}")
    report(args, direct, systems, {k: sorted(v) for k, v in latencies.items()})


def report(args, direct: Target, systems: list[System], latencies: dict[str, list[float]]):
    cs = args.concurrency
    print(f"\nfigures (median over {args.rounds} rounds; latency over every sequential request)")
    head = "".join(f"{'req/s c' + str(c):>12}" for c in cs)
    head += "".join(f"{'CPU µs/req c' + str(c):>16}" for c in cs)
    print(f"{'system':<22}{head}{'median ms':>11}{'p99 ms':>9}{'errors':>8}")
    for label in [direct.label, *(s.label for s in systems)]:
        system = next((s for s in systems if s.label == label), None)
        cells = ""
        for c in cs:
            rate = _median(system.rates[c]) if system else None
            cells += f"{'-' if rate is None else f'{rate:.0f}':>12}"
        for c in cs:
            cpu = _median(system.cpu_us[c]) if system else None
            cells += f"{'-' if cpu is None else f'{cpu:.0f}':>16}"
        values = latencies[label]
        errors = "-" if system is None else str(system.errors)
        print(
            f"{label:<22}{cells}{statistics.median(values):>11.3f}"
            f"{percentile(values, 99):>9.3f}{errors:>8}"
        )

    naive = systems[0]
    base_median = statistics.median(latencies[direct.label])
    naive_p99 = percentile(latencies[naive.label], 99)
    print(
        "\nratios against the naive proxy: per-round ratio, median [min-max] over rounds; "
        "added median = system's median - direct's"
    )
    head = "".join(f"{'req/s c' + str(c):>19}" for c in cs)
    head += "".join(f"{'CPU/req c' + str(c):>19}" for c in cs)
    print(f"{'system':<22}{head}{'added median ms':>17}{'p99 ÷ naive':>13}")
    for system in systems:
        cells = ""
        for c in cs:
            cells += f"{_spread(_ratios(system.rates[c], naive.rates[c])):>19}"
        for c in cs:
            cells += f"{_spread(_ratios(system.cpu_us[c], naive.cpu_us[c])):>19}"
        values = latencies[system.label]
        added = statistics.median(values) - base_median
        p99 = percentile(values, 99) / naive_p99
        print(f"{system.label:<22}{cells}{added:>+17.3f}{p99:>13.2f}")
    targets = "".join(f"{'>= ' + f'{TARGET_RATE:.2f}':>19}" for _ in cs)
    targets += "".join(f"{'<= ' + f'{TARGET_CPU:.2f}':>19}" for _ in cs)
    print(f"{'target':<22}{targets}{'<= ' + f'{TARGET_ADDED_MS:.3f}':>17}{'<= 1.00':>13}")
    verdicts(args, direct, systems, latencies)


def verdicts(args, direct: Target, systems: list[System], latencies: dict[str, list[float]]):
    for registry in systems:
        if is_registry(registry):
            verdict(args, direct, systems[0], registry, latencies)


def verdict(args, direct: Target, naive: System, registry: System, latencies) -> None:
    results = []
    for c in args.concurrency:
        rate = _ratios(registry.rates[c], naive.rates[c])
        cpu = _ratios(registry.cpu_us[c], naive.cpu_us[c])
        if rate:
            met = statistics.median(rate) >= TARGET_RATE
            results.append(f"req/s c{c} {'met' if met else 'NOT met'}")
        if cpu:
            met = statistics.median(cpu) <= TARGET_CPU
            results.append(f"CPU/req c{c} {'met' if met else 'NOT met'}")
    mine = latencies[registry.label]
    added = statistics.median(mine) - statistics.median(latencies[direct.label])
    results.append(f"added median {'met' if added <= TARGET_ADDED_MS else 'NOT met'}")
    p99 = percentile(mine, 99) / percentile(latencies[naive.label], 99)
    results.append(f"p99 {'met' if p99 <= TARGET_P99 else 'NOT met'}")
    print(
        f"{registry.label} against issue 12's targets (medians of the ratios): "
        + ", ".join(results)
    )


if __name__ == "__main__":
    main()
