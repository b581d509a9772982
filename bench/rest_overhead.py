"""What the registry's REST surface adds to an upstream call: latency and throughput.

Starts, as subprocesses, the demo fleet upstream (``manage.py run_demo_upstream``) on
a free port of 127.0.0.1, a throwaway SQLite database (migrated, with
``fixtures/shipyard-fleet.yaml`` imported and its baseUri pointed at that port), and the
registry under the production server command (``gunicorn registry.wsgi -k gthread
--workers 1 --threads 8``; one worker so CPU per request compares across runs), with
``DEBUG=false``. Then, for the same GET, through the registry
(``/rest/fleet-api/ships/<imo>``: route match, parameters, upstream call, output
mapping) and straight to the upstream (``/ships/<imo>`` with the bearer header):

1. sequential latency, one shared ``httpx.Client``, the two paths interleaved:
   median, p99, and the latency the registry adds (registry minus direct);
2. requests per second with N concurrent clients (threads, each with its own
   ``httpx.Client``) for a fixed duration, path after path, and their ratio; with the
   CPU time per request of the gunicorn worker and of the upstream (Linux ``/proc``).

Both phases warm up first. The direct path is the baseline every ratio is taken
against. The clients run in this one Python process: when its CPU use nears one core
the direct path's rate is the client's limit, not the upstream's.

    .venv/bin/python bench/rest_overhead.py [--requests 2000] [--warmup 200]
        [--concurrency 8] [--duration 10] [--imo IMO9321483]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
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
    Workspace,
    cpu_seconds,
    free_port,
    manage,
    wait_ready,
    worker_pids,
)

GUNICORN_THREADS = 8


# --------------------------------------------------------------------------- measuring


@dataclass
class Target:
    label: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


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
    """Latencies in ms per target, the targets interleaved on one shared client."""
    timings: dict[str, list[float]] = {t.label: [] for t in targets}
    with httpx.Client(timeout=30) as client:
        for _ in range(warmup):
            for target in targets:
                get(client, target)
        for _ in range(requests):
            for target in targets:
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
    args = parser.parse_args()

    upstream_port, registry_port = free_port(), free_port()
    with Workspace("bench-rest-") as workspace:
        env = workspace.env
        document = workspace.fleet_document(upstream_port)
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "import_capability", str(document))
        upstream = workspace.start_upstream(upstream_port)
        registry = workspace.start_gunicorn(registry_port, args.worker_class, args.threads)
        wait_ready(f"http://127.0.0.1:{upstream_port}/ships", upstream, workspace.log("upstream"))
        wait_ready(f"http://127.0.0.1:{registry_port}/rest/", registry, workspace.log("gunicorn"))

        direct = Target(
            "direct",
            f"http://127.0.0.1:{upstream_port}/ships/{args.imo}",
            {"Authorization": f"Bearer {workspace.token}"},
        )
        through = Target(
            "registry", f"http://127.0.0.1:{registry_port}/rest/fleet-api/ships/{args.imo}"
        )
        check(direct, "imo_number")
        check(through, "imo")
        run(args, direct, through, registry.pid, upstream.pid)


def run(args, direct: Target, through: Target, registry_pid: int, upstream_pid: int) -> None:
    workers = worker_pids(registry_pid)
    print(
        f"GET {args.imo}: registry /rest/fleet-api/ships/<imo> (gunicorn {args.worker_class}, "
        f"1 worker x {args.threads} threads, DEBUG=false, SQLite) "
        "vs the upstream's /ships/<imo> direct"
    )
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"gunicorn worker pid {workers[0] if workers else '?'}"
    )

    timings = sequential([direct, through], args.requests, args.warmup)
    print(
        f"\nsequential: {args.requests} requests per path after {args.warmup} warm-up, "
        "one shared httpx.Client, paths interleaved (ms)"
    )
    print(f"{'path':<10} {'median':>8} {'p99':>8} {'mean':>8} {'x direct':>9}")
    stats = {}
    for label in ("direct", "registry"):
        values = timings[label]
        stats[label] = (
            statistics.median(values),
            percentile(values, 99),
            statistics.fmean(values),
        )
    for label, (median, p99, mean) in stats.items():
        ratio = median / stats["direct"][0]
        print(f"{label:<10} {median:>8.3f} {p99:>8.3f} {mean:>8.3f} {ratio:>9.2f}")
    added = [r - d for r, d in zip(stats["registry"], stats["direct"], strict=True)]
    print(f"{'added':<10} {added[0]:>8.3f} {added[1]:>8.3f} {added[2]:>8.3f}   (registry - direct)")

    print(
        f"\nconcurrent: {args.concurrency} clients (threads, one httpx.Client each) for "
        f"{args.duration:g} s per path, after {args.warmup // 4} warm-up requests per client"
    )
    print(
        f"{'path':<10} {'requests':>9} {'errors':>7} {'req/s':>9} {'x direct':>9} "
        f"{'registry CPU ms/req':>20} {'upstream CPU ms/req':>20} {'client CPU %':>13}"
    )
    loads = {}
    for target in (direct, through):
        registry_cpu = cpu_seconds(workers)
        upstream_cpu = cpu_seconds([upstream_pid])
        load = concurrent(target, args.concurrency, args.duration, args.warmup // 4)
        registry_cpu = _delta(cpu_seconds(workers), registry_cpu)
        upstream_cpu = _delta(cpu_seconds([upstream_pid]), upstream_cpu)
        loads[target.label] = load
        ratio = load.rate / loads["direct"].rate
        print(
            f"{target.label:<10} {load.requests:>9} {load.errors:>7} {load.rate:>9.0f} "
            f"{ratio:>9.2f} {_per_request(registry_cpu, load):>20} "
            f"{_per_request(upstream_cpu, load):>20} "
            f"{100 * load.client_cpu / load.seconds:>12.0f}%"
        )
    print(
        f"registry/direct throughput: {loads['registry'].rate / loads['direct'].rate:.2f}; "
        f"the registry path also costs its upstream call (in the upstream column)"
    )


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _per_request(cpu: float | None, load: Load) -> str:
    return "n/a" if cpu is None or not load.requests else f"{1000 * cpu / load.requests:.3f}"


if __name__ == "__main__":
    main()
