"""What the registry's REST surface adds to an upstream call: latency and throughput.

Starts, as subprocesses, the demo fleet upstream (``manage.py run_demo_upstream``) on
a free port of 127.0.0.1, a throwaway SQLite database (migrated, with
``fixtures/shipyard-fleet.yaml`` imported and its baseUri pointed at that port), and the
registry under the production server command (``gunicorn registry.wsgi -k gthread
--workers 1 --threads 8``; one worker so CPU per request compares across runs), with
``DEBUG=false``, client keys not required and no rate limit
(``REGISTRY_REQUIRE_CLIENT_KEY=false``, ``REGISTRY_RATE_LIMIT=off``). Unless
``--no-keys``, a second registry the same way on the same database with keys on
(``REGISTRY_REQUIRE_CLIENT_KEY=true``, ``REGISTRY_RATE_LIMIT=100000000/minute``: counted,
never reached; counted in Redis db 15 when ``redis://127.0.0.1:6379/15`` answers, in the
database otherwise), called with a client key granted ``shipyard-fleet``
(``Authorization: Bearer <key>``; only its prefix is printed). Then, for the same GET,
through the registry (``/rest/fleet-api/ships/<imo>``: route match, parameters, upstream
call, output mapping), through the keyed registry, and straight to the upstream
(``/ships/<imo>`` with the bearer header):

1. sequential latency, one shared ``httpx.Client``, the paths interleaved (each round
   starting one path further on):
   median, p99, and the latency the registry adds (registry minus direct), and what the
   keys add (registry+keys minus registry); with each gunicorn worker's CPU per request
   over the phase (``/proc``, 10 ms ticks);
2. requests per second with N concurrent clients (threads, each with its own
   ``httpx.Client``) for a fixed duration, path after path (the two registries A B B A,
   half the duration each time, against drift), and their ratio; with the
   CPU time per request of the gunicorn worker and of the upstream (Linux ``/proc``),
   and the worker CPU per request the keys add;
3. (keys) the budget itself, without the servers' noise: in a child process per leg
   (``bench/_budget.py``, the workspace's database and the keyed server's environment),
   the CPU time (``time.process_time``) of exactly what a warm keyed request adds
   (``admission.identify``, ``authorize_capability``, ``credential_header``,
   ``authorize``, ``ratelimit.charge``, ``ratelimit.with_headers``) over
   ``--budget-iterations`` calls after a warm-up: keys off, keys on with the limit in
   Redis, keys on with the limit in the database; against issue 10's budget of 100 µs.

Both phases warm up first. The direct path is the baseline every ratio is taken
against. The clients run in this one Python process: when its CPU use nears one core
the direct path's rate is the client's limit, not the upstream's. Phases 1 and 2 on a
2-core machine vary 10-35 % between runs: phase 3 is the budget's measure.

    .venv/bin/python bench/rest_overhead.py [--requests 2000] [--warmup 200]
        [--concurrency 8] [--duration 10] [--imo IMO9321483] [--no-keys]
        [--budget-iterations 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import (  # noqa: E402
    BENCH_REDIS_URL,
    KEYS_OFF,
    KEYS_ON,
    Workspace,
    cpu_seconds,
    manage,
    rate_limit_backend,
    redis_answers,
    wait_ready,
    worker_pids,
)
from tests.support.processes import free_port  # noqa: E402

GUNICORN_THREADS = 8
CAPABILITY = "shipyard-fleet"  # the fixture's capability (its file name)
BUDGET_US = 100.0  # issue 10: key check + rate limit, CPU per warm request


# --------------------------------------------------------------------------- measuring


@dataclass
class Target:
    label: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)  # the gunicorn worker whose CPU counts


def get(client: httpx.Client, target: Target) -> bool:
    return client.get(target.url, headers=target.headers).status_code == 200


def check(target: Target, expected_key: str) -> None:
    response = httpx.get(target.url, headers=target.headers, timeout=10)
    if response.status_code != 200 or expected_key not in response.json():
        sys.exit(f"{target.label}: {response.status_code} {response.text[:500]}")


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def sequential(targets: list[Target], requests: int, warmup: int) -> dict[str, list[float]]:
    """Latencies in ms per target, the targets interleaved on one shared client.

    Each round starts one target further on (direct, registry, keys; registry, keys,
    direct; ...): a request right after another server's answer competes with that
    server's after-work for the CPU, and every target takes each place equally often.
    """
    timings: dict[str, list[float]] = {t.label: [] for t in targets}
    with httpx.Client(timeout=30) as client:
        for _ in range(warmup):
            for target in targets:
                get(client, target)
        for round_ in range(requests):
            shift = round_ % len(targets)
            for target in targets[shift:] + targets[:shift]:
                start = time.perf_counter()
                ok = get(client, target)
                elapsed = (time.perf_counter() - start) * 1000
                if not ok:
                    sys.exit(f"{target.label} failed during the sequential run")
                timings[target.label].append(elapsed)
    return {label: sorted(values) for label, values in timings.items()}


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    client_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def __add__(self, other: Load) -> Load:
        return Load(
            self.requests + other.requests,
            self.errors + other.errors,
            self.seconds + other.seconds,
            self.client_cpu + other.client_cpu,
        )


def concurrent(target: Target, clients: int, duration: float, warmup: int) -> Load:
    """``clients`` threads, each with its own client, as fast as they can for ``duration``."""
    counts = [0] * clients
    errors = [0] * clients
    ready = threading.Barrier(clients + 1)
    deadline = [0.0]

    def run(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(warmup):
                get(client, target)
            ready.wait()
            ready.wait()  # the main thread has set the deadline
            while time.perf_counter() < deadline[0]:
                try:
                    if get(client, target):
                        counts[index] += 1
                    else:
                        errors[index] += 1
                except httpx.HTTPError:
                    errors[index] += 1

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu_before = time.process_time()
    start = time.perf_counter()
    deadline[0] = start + duration
    ready.wait()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return Load(sum(counts), sum(errors), seconds, time.process_time() - cpu_before)


# --------------------------------------------------------------------------- main


@dataclass
class Keys:
    """The keyed registry of a run: its client key and where its limit is counted."""

    secret: str  # never printed
    prefix: str
    redis: bool  # counted in Redis (else in the database)
    env: dict[str, str]  # the workspace's environment with the keyed server's overrides
    counted: list[str]  # the rate-limit header fields of a keyed answer

    @property
    def backend(self) -> str:
        if self.redis:
            return f"Redis {BENCH_REDIS_URL}"
        return f"the database (SQLite; Redis at {BENCH_REDIS_URL} does not answer)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="sequential, per path")
    parser.add_argument(
        "--warmup", type=int, default=200, help="warm-up requests per path (a quarter per client)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per path")
    parser.add_argument("--imo", default="IMO9321483", help="the ship every request gets")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=GUNICORN_THREADS, help="gunicorn threads")
    parser.add_argument(
        "--no-keys", action="store_true", help="no keyed registry, no budget phase (3)"
    )
    parser.add_argument(
        "--budget-iterations", type=int, default=20000, help="timed calls per leg of phase 3"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress, phase by phase, on a pipe too

    upstream_port, registry_port, keyed_port = free_port(), free_port(), free_port()
    with Workspace("bench-rest-") as workspace:
        env = workspace.env
        document = workspace.fleet_document(upstream_port)
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "import_capability", str(document))
        keys = None
        if not args.no_keys:
            secret = workspace.create_client_key("bench", CAPABILITY)
            redis = redis_answers()
            overrides = {**KEYS_ON, **rate_limit_backend(redis)}
            keys = Keys(secret, secret[:12], redis, {**env, **overrides}, [])
        upstream = workspace.start_upstream(upstream_port)
        registry = workspace.start_gunicorn(registry_port, args.worker_class, args.threads)
        keyed = None
        if keys is not None:
            keyed = workspace.start_gunicorn(
                keyed_port, args.worker_class, args.threads, "gunicorn-keys", **overrides
            )
        wait_ready(f"http://127.0.0.1:{upstream_port}/ships", upstream, workspace.log("upstream"))
        wait_ready(f"http://127.0.0.1:{registry_port}/rest/", registry, workspace.log("gunicorn"))

        direct = Target(
            "direct",
            f"http://127.0.0.1:{upstream_port}/ships/{args.imo}",
            {"Authorization": f"Bearer {workspace.token}"},
        )
        through = Target(
            "registry",
            f"http://127.0.0.1:{registry_port}/rest/fleet-api/ships/{args.imo}",
            pids=worker_pids(registry.pid),
        )
        check(direct, "imo_number")
        check(through, "imo")
        targets = [direct, through]
        if keyed is not None:
            log = workspace.log("gunicorn-keys")
            wait_ready(f"http://127.0.0.1:{keyed_port}/rest/", keyed, log)
            with_key = Target(
                "registry+keys",
                f"http://127.0.0.1:{keyed_port}/rest/fleet-api/ships/{args.imo}",
                {"Authorization": f"Bearer {keys.secret}"},
                worker_pids(keyed.pid),
            )
            keys.counted = check_keyed(with_key)
            targets.append(with_key)
        run(args, targets, upstream.pid, keys)


def check_keyed(target: Target) -> list[str]:
    """Exit unless the keyed registry refuses a call without the key and serves it with;
    the rate-limit header fields of the served answer."""
    refused = httpx.get(target.url, timeout=10)
    if refused.status_code != 401:
        sys.exit(f"{target.label} without a key: {refused.status_code}, not 401")
    check(target, "imo")
    answer = httpx.get(target.url, headers=target.headers, timeout=10)
    return sorted(name for name in answer.headers if name.lower().startswith("ratelimit"))


def run(args, targets: list[Target], upstream_pid: int, keys: Keys | None) -> None:
    labels = [t.label for t in targets]
    workers = targets[1].pids
    print(
        f"GET {args.imo}: registry /rest/fleet-api/ships/<imo> (gunicorn {args.worker_class}, "
        f"1 worker x {args.threads} threads, DEBUG=false, SQLite) "
        "vs the upstream's /ships/<imo> direct"
    )
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"gunicorn worker pid {workers[0] if workers else '?'}"
    )
    if keys is not None:
        keyed = targets[2].pids
        print(
            "registry: REGISTRY_REQUIRE_CLIENT_KEY=false, REGISTRY_RATE_LIMIT=off; "
            f"registry+keys (gunicorn worker pid {keyed[0] if keyed else '?'}): "
            + ", ".join(f"{name}={value}" for name, value in KEYS_ON.items())
            + f", limit counted in {keys.backend}; client key {keys.prefix}… "
            f"(Authorization: Bearer), a call without it is 401"
        )
        print(
            "rate-limit header fields on a keyed answer: "
            + (
                ", ".join(keys.counted)
                if keys.counted
                else "none (ratelimit.py is still a placeholder in this tree?)"
            )
        )

    sequential(targets, 0, args.warmup)
    servers = [t for t in targets if t.pids]
    cpu_before = {t.label: cpu_seconds(t.pids) for t in servers}
    timings = sequential(targets, args.requests, 0)
    worker_us: dict[str, float | None] = {}
    for target in servers:
        cpu = _delta(cpu_seconds(target.pids), cpu_before[target.label])
        worker_us[target.label] = None if cpu is None else 1e6 * cpu / args.requests
    print(
        f"\nsequential: {args.requests} requests per path after {args.warmup} warm-up, "
        "one shared httpx.Client, paths interleaved, the order rotated each round (ms)"
    )
    print(f"{'path':<14} {'median':>8} {'p99':>8} {'mean':>8} {'x direct':>9}")
    stats = {}
    for label in labels:
        values = timings[label]
        stats[label] = (
            statistics.median(values),
            percentile(values, 99),
            statistics.fmean(values),
        )
    for label, (median, p99, mean) in stats.items():
        ratio = median / stats["direct"][0]
        print(f"{label:<14} {median:>8.3f} {p99:>8.3f} {mean:>8.3f} {ratio:>9.2f}")
    added = [r - d for r, d in zip(stats["registry"], stats["direct"], strict=True)]
    print(f"{'added':<14} {added[0]:>8.3f} {added[1]:>8.3f} {added[2]:>8.3f}   (registry - direct)")
    if keys is not None:
        on = [k - r for k, r in zip(stats["registry+keys"], stats["registry"], strict=True)]
        print(
            f"{'keys':<14} {on[0]:>8.3f} {on[1]:>8.3f} {on[2]:>8.3f}   (registry+keys - registry)"
        )
    if all(us is not None for us in worker_us.values()):
        line = ", ".join(f"{label} {us:.0f} µs" for label, us in worker_us.items())
        if keys is not None:
            line += (
                f" (keys on - off: {worker_us['registry+keys'] - worker_us['registry']:+.0f} µs)"
            )
        print(
            f"gunicorn worker CPU per request, sequential: {line}; /proc ticks of 10 ms: "
            f"+-{1e4 / args.requests:.0f} µs"
        )

    print(
        f"\nconcurrent: {args.concurrency} clients (threads, one httpx.Client each) for "
        f"{args.duration:g} s per path, after {args.warmup // 4} warm-up requests per client"
        + ("; registry and registry+keys A B B A, half the time each" if keys else "")
    )
    print(
        f"{'path':<14} {'requests':>9} {'errors':>7} {'req/s':>9} {'x direct':>9} "
        f"{'registry CPU ms/req':>20} {'upstream CPU ms/req':>20} {'client CPU %':>13}"
    )
    # The two registries run A B B A, half the duration each time, so that a drift of the
    # machine's load during the phase weighs on both alike.
    schedule = [(t, args.duration) for t in targets[:2]]
    if keys is not None:
        half = args.duration / 2
        schedule = [(targets[0], args.duration), *((t, half) for t in targets[1:3])]
        schedule += [(t, half) for t in (targets[2], targets[1])]
    loads: dict[str, Load] = {}
    registry_cpus: dict[str, float | None] = {}
    upstream_cpus: dict[str, float | None] = {}
    for target, duration in schedule:
        registry_cpu = cpu_seconds(target.pids or workers)
        upstream_cpu = cpu_seconds([upstream_pid])
        load = concurrent(target, args.concurrency, duration, args.warmup // 4)
        registry_cpu = _delta(cpu_seconds(target.pids or workers), registry_cpu)
        upstream_cpu = _delta(cpu_seconds([upstream_pid]), upstream_cpu)
        if target.label in loads:
            load = loads[target.label] + load
            registry_cpu = _sum(registry_cpus[target.label], registry_cpu)
            upstream_cpu = _sum(upstream_cpus[target.label], upstream_cpu)
        loads[target.label] = load
        registry_cpus[target.label] = registry_cpu
        upstream_cpus[target.label] = upstream_cpu
    for target in targets:
        load = loads[target.label]
        ratio = load.rate / loads["direct"].rate
        print(
            f"{target.label:<14} {load.requests:>9} {load.errors:>7} {load.rate:>9.0f} "
            f"{ratio:>9.2f} {_per_request(registry_cpus[target.label], load):>20} "
            f"{_per_request(upstream_cpus[target.label], load):>20} "
            f"{100 * load.client_cpu / load.seconds:>12.0f}%"
        )
    print(
        f"registry/direct throughput: {loads['registry'].rate / loads['direct'].rate:.2f}; "
        f"the registry path also costs its upstream call (in the upstream column)"
    )
    if keys is None:
        return
    off, on = loads["registry"], loads["registry+keys"]
    cpu_off, cpu_on = registry_cpus["registry"], registry_cpus["registry+keys"]
    cpu_added = (
        "n/a"
        if cpu_off is None or cpu_on is None or not off.requests or not on.requests
        else f"{1e6 * (cpu_on / on.requests - cpu_off / off.requests):+.0f} µs"
    )
    latency_added = 1000 * (stats["registry+keys"][0] - stats["registry"][0])
    print(
        f"keys on - off: median latency {latency_added:+.0f} µs (sequential), "
        f"gunicorn worker CPU per request {cpu_added} (concurrent), "
        f"throughput x{on.rate / off.rate:.2f}; one run of a noisy 2-core machine: phase 3 "
        "measures the budget itself"
    )
    budget(args, keys)


def budget(args, keys: Keys) -> None:
    """Phase 3: ``bench/_budget.py`` in a child process per leg."""
    warmup = 1000
    print(
        f"\nin-process budget: what a warm keyed request adds (Door, identify, "
        "authorize_capability, credential_header, authorize, ratelimit.charge, "
        f"ratelimit.with_headers on a small HttpResponse), {args.budget_iterations} calls "
        f"per leg after {warmup} warm-up, one child process per leg (µs per call)"
    )
    legs = [("keys off", {**keys.env, **KEYS_OFF}, False)]
    if keys.redis:
        legs.append(("keys on, Redis", {**keys.env, **rate_limit_backend(True)}, True))
    legs.append(("keys on, database", {**keys.env, **rate_limit_backend(False)}, True))
    print(f"{'leg':<20} {'CPU':>8} {'wall':>8}  {'client':<8} {'quota':<6} headers added")
    results = {}
    for label, env, keyed in legs:
        env = {
            **env,
            "BENCH_ITERATIONS": str(args.budget_iterations),
            "BENCH_WARMUP": str(warmup),
        }
        if keyed:
            env["BENCH_CLIENT_KEY"] = keys.secret
        result = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("_budget.py"))],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            sys.exit(f"phase 3, {label}: exit {result.returncode}\n{result.stderr[-3000:]}")
        row = json.loads(result.stdout.strip().splitlines()[-1])
        results[label] = row
        print(
            f"{label:<20} {row['cpu_us']:>8.1f} {row['wall_us']:>8.1f}  "
            f"{row['client'] or '-':<8} {'yes' if row['quota'] else 'none':<6} "
            f"{', '.join(row['headers']) or '-'}"
        )
    if not keys.redis:
        print(f"(Redis at {BENCH_REDIS_URL} does not answer: no Redis leg)")
    base = results["keys off"]["cpu_us"]
    verdicts = []
    for label, row in results.items():
        if label == "keys off":
            continue
        cpu = row["cpu_us"]
        within = "within" if cpu <= BUDGET_US else "OVER"
        name = label.removeprefix("keys on, ")
        verdicts.append(f"{name} {cpu:.1f} µs ({within}; {cpu - base:+.1f} over keys off)")
    print(
        f"budget: key check + rate limit at most {BUDGET_US:g} µs of CPU per warm request: "
        + "; ".join(verdicts)
    )
    if not all(row["quota"] for label, row in results.items() if label != "keys off"):
        print(
            "note: ratelimit.charge answered no quota: the limit is not counted in this tree "
            "(ratelimit.py placeholder), so these legs measure the key check alone"
        )


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _per_request(cpu: float | None, load: Load) -> str:
    return "n/a" if cpu is None or not load.requests else f"{1000 * cpu / load.requests:.3f}"


if __name__ == "__main__":
    main()
