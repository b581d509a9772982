"""The outbound call alone: HTTP clients side by side against a fixed-answer upstream.

Issue 12 point 2. One process makes ``GET /ships/<imo>`` (``Authorization: Bearer``,
about 300 bytes of JSON back) on one keep-alive connection per thread, reading the
whole body, with each candidate:

- ``registry``: the registry's own client (``capabilities_app.runtime.upstream``:
  ``Client.send`` of an ``upstream.Request``, with the address guard, the deadline and
  the byte cap), whatever it is built on in this tree;
- ``httpx``: one shared ``httpx.Client`` (its pool, ``client.get``), what the registry
  was built on before issue 12;
- ``httpcore pool``: one shared ``httpcore.ConnectionPool``;
- ``httpcore conn``: an ``httpcore.HTTPConnection`` per thread (no pool, no pool lock);
- ``urllib3 pool``: one shared ``urllib3.HTTPConnectionPool`` (``maxsize`` = threads);
- ``urllib3 conn``: a ``urllib3.connection.HTTPConnection`` per thread;
- ``httpx2``: one shared ``httpx2.Client`` (PyPI ``httpx2``, the MCP SDK's client);
- ``http.client``: the standard library's ``HTTPConnection`` per thread, the floor
  (what urllib3 builds on; no pool, nothing checked).

The upstream is Debian's nginx with fixed answers (``bench/baselines/upstream.py``), or
the Python demo upstream when nginx is missing (said in the output). With ``taskset``
and two CPUs, this process runs on one CPU and the upstream on the other.

For ``--rounds`` interleaved rounds (the order rotated each round), each candidate runs
``--duration`` seconds with 1 thread, then with ``--threads`` threads (the shape of
gunicorn gthread x8 on one core): calls per second, and this process's CPU time per
call (``time.process_time``, every thread). The table gives the median over the rounds
and the ratios to ``httpx`` (calls/s: higher is better; CPU: lower is better).

    flock /tmp/bench.lock .venv/bin/python bench/outbound_clients.py [--rounds 5]
        [--duration 3] [--threads 8] [--only registry,httpx,...]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import Workspace  # noqa: E402
from bench.baselines.upstream import start_upstream  # noqa: E402
from capabilities_app.management.demo_upstream import SHIPS  # noqa: E402
from tests.support.processes import free_port, wait_ready  # noqa: E402

IMO = str(SHIPS[0]["imo_number"])
BASELINE = "httpx"

Call = Callable[[], int]  # one exchange; the length of the body read


@dataclass
class Candidate:
    name: str
    call: Call
    close: Callable[[], None] = lambda: None


def _package(name: str) -> str:
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return f"{name} (not installed)"


# --------------------------------------------------------------------------- candidates


def registry(host: str, port: int, headers: dict[str, str]) -> Candidate:
    from capabilities_app.runtime import upstream
    from capabilities_app.runtime.guard import parse_networks

    client = upstream.Client(upstream.Settings(allowed_networks=parse_networks(["127.0.0.0/8"])))
    url = f"http://{host}:{port}/ships/{IMO}"
    pairs = [("user-agent", "capability-registry"), *headers.items()]

    def call() -> int:
        response = client.send(upstream.Request("GET", url, headers=list(pairs)))
        assert response.status == 200, response.status
        return len(response.content)

    return Candidate("registry", call, client.close)


def plain_httpx(host: str, port: int, headers: dict[str, str]) -> Candidate:
    import httpx

    client = httpx.Client(timeout=30, follow_redirects=False, trust_env=False)
    url = f"http://{host}:{port}/ships/{IMO}"

    def call() -> int:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.status_code
        return len(response.content)

    return Candidate("httpx", call, client.close)


def httpx2_client(host: str, port: int, headers: dict[str, str]) -> Candidate | None:
    try:
        import httpx2
    except ImportError:
        return None
    client = httpx2.Client(timeout=30, follow_redirects=False, trust_env=False)
    url = f"http://{host}:{port}/ships/{IMO}"

    def call() -> int:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.status_code
        return len(response.content)

    return Candidate("httpx2", call, client.close)


def httpcore_pool(host: str, port: int, headers: dict[str, str]) -> Candidate:
    import httpcore

    pool = httpcore.ConnectionPool(max_connections=100, max_keepalive_connections=20)
    url = f"http://{host}:{port}/ships/{IMO}"
    pairs = [(k.encode(), v.encode()) for k, v in headers.items()]

    def call() -> int:
        response = pool.request("GET", url, headers=pairs)
        assert response.status == 200, response.status
        return len(response.content)

    return Candidate("httpcore pool", call, pool.close)


def httpcore_connection(host: str, port: int, headers: dict[str, str]) -> Candidate:
    import httpcore

    local = threading.local()
    opened: list[httpcore.HTTPConnection] = []
    origin = httpcore.Origin(b"http", host.encode(), port)
    url = f"http://{host}:{port}/ships/{IMO}"
    pairs = [(k.encode(), v.encode()) for k, v in headers.items()]

    def call() -> int:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = httpcore.HTTPConnection(origin)
            opened.append(connection)
        response = connection.request("GET", url, headers=pairs)
        assert response.status == 200, response.status
        return len(response.content)

    def close() -> None:
        for connection in opened:
            connection.close()

    return Candidate("httpcore conn", call, close)


def urllib3_pool(host: str, port: int, headers: dict[str, str], threads: int) -> Candidate | None:
    try:
        import urllib3
    except ImportError:
        return None
    pool = urllib3.HTTPConnectionPool(host, port, maxsize=threads, block=True, timeout=30)
    path = f"/ships/{IMO}"

    def call() -> int:
        response = pool.request("GET", path, headers=headers, retries=False, redirect=False)
        assert response.status == 200, response.status
        return len(response.data)

    return Candidate("urllib3 pool", call, pool.close)


def per_thread(name: str, connect, headers: dict[str, str]) -> Candidate:
    """One ``http.client``-style connection per thread (``connect()`` makes one)."""
    local = threading.local()
    opened: list = []
    path = f"/ships/{IMO}"

    def call() -> int:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = connect()
            opened.append(connection)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, response.status
        return len(body)

    def close() -> None:
        for connection in opened:
            connection.close()

    return Candidate(name, call, close)


def urllib3_connection(host: str, port: int, headers: dict[str, str]) -> Candidate | None:
    try:
        from urllib3.connection import HTTPConnection
    except ImportError:
        return None
    return per_thread("urllib3 conn", lambda: HTTPConnection(host, port, timeout=30), headers)


def stdlib_connection(host: str, port: int, headers: dict[str, str]) -> Candidate:
    import http.client

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(host, port, timeout=30)

    return per_thread("http.client", connect, headers)


def candidates(host: str, port: int, token: str, threads: int) -> list[Candidate]:
    headers = {"authorization": f"Bearer {token}"}
    made = [
        registry(host, port, headers),
        plain_httpx(host, port, headers),
        httpcore_pool(host, port, headers),
        httpcore_connection(host, port, headers),
        urllib3_pool(host, port, headers, threads),
        urllib3_connection(host, port, headers),
        httpx2_client(host, port, headers),
        stdlib_connection(host, port, headers),
    ]
    return [candidate for candidate in made if candidate is not None]


# --------------------------------------------------------------------------- measuring


@dataclass
class Figures:
    rate: dict[int, list[float]] = field(default_factory=dict)  # threads -> calls/s per round
    cpu: dict[int, list[float]] = field(default_factory=dict)  # threads -> µs per call


def run(call: Call, threads: int, duration: float) -> tuple[float, float]:
    """Calls per second and CPU µs per call of ``threads`` threads calling for ``duration``."""
    stop = threading.Event()
    start = threading.Barrier(threads + 1)
    counts = [0] * threads
    errors: list[BaseException] = []

    def work(index: int) -> None:
        call()  # this thread's connection, opened before the clock starts
        start.wait()
        done = 0
        try:
            while not stop.is_set():
                call()
                done += 1
        except BaseException as exc:  # reported below, the run is void
            errors.append(exc)
        counts[index] = done

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    time.sleep(duration)
    stop.set()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if errors:
        raise RuntimeError(f"a call failed: {errors[0]!r}") from errors[0]
    total = sum(counts)
    return total / wall, cpu / total * 1e6


def pin() -> tuple[int | None, int | None]:
    """(this process's CPU, the upstream's CPU), or (None, None) when not pinned."""
    allowed = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(allowed) < 2:
        return None, None
    return allowed[-1], allowed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    args = parser.parse_args()
    shapes = (1, args.threads)

    mine, theirs = pin()
    with Workspace("bench-outbound-") as workspace:
        if theirs is not None:
            os.sched_setaffinity(0, {theirs})  # the upstream inherits this CPU
        port = free_port()
        process, described = start_upstream(workspace, port)
        wait_ready(process, workspace.log("upstream"), url=f"http://127.0.0.1:{port}/")
        if mine is not None:
            os.sched_setaffinity(0, {mine})
        host = "127.0.0.1"
        chosen = candidates(host, port, workspace.token, args.threads)
        if args.only:
            wanted = {name.strip() for name in args.only.split(",")}
            chosen = [c for c in chosen if c.name in wanted]
        print(
            f"outbound clients: GET /ships/{IMO}, {args.rounds} interleaved rounds of "
            f"{args.duration:g} s per candidate and shape (1 and {args.threads} threads)"
        )
        print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; ", end="")
        if mine is None:
            print("not pinned (no taskset, or fewer than 2 CPUs)")
        else:
            print(f"this process pinned to CPU {mine}, the upstream to CPU {theirs}")
        print(f"upstream: {described}")
        print(
            "packages: "
            + ", ".join(_package(n) for n in ("httpx", "httpcore", "urllib3", "httpx2", "h11"))
        )
        names = {c.name for c in candidates(host, port, workspace.token, args.threads)}
        for missing in ("urllib3 pool", "httpx2"):
            if missing not in names:
                print(f"{missing}: not installed, left out")
        figures = {c.name: Figures() for c in chosen}
        try:
            for candidate in chosen:  # warm up: imports, connections, caches
                run(candidate.call, 1, 0.3)
            for number in range(args.rounds):
                order = chosen[number % len(chosen) :] + chosen[: number % len(chosen)]
                for threads in shapes:
                    for candidate in order:
                        rate, cpu = run(candidate.call, threads, args.duration)
                        figures[candidate.name].rate.setdefault(threads, []).append(rate)
                        figures[candidate.name].cpu.setdefault(threads, []).append(cpu)
                print(f"round {number + 1}/{args.rounds} done", flush=True)
        finally:
            for candidate in chosen:
                candidate.close()
    report(figures, shapes)


def report(figures: dict[str, Figures], shapes: tuple[int, ...]) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    base = figures.get(BASELINE)
    header = f"{'client':<15}"
    for threads in shapes:
        header += f" | {threads} thread{'s' if threads > 1 else ' '}: calls/s  CPU µs/call"
        header += "  x rate  x CPU"
    print()
    print(header)
    print("-" * len(header))
    for name, figure in figures.items():
        line = f"{name:<15}"
        for threads in shapes:
            rate, cpu = median(figure.rate[threads]), median(figure.cpu[threads])
            line += f" | {rate:>17,.0f}  {cpu:>11.1f}"
            if base is not None:
                line += f"  {rate / median(base.rate[threads]):>6.2f}"
                line += f"  {cpu / median(base.cpu[threads]):>5.2f}"
        print(line)
    print()
    print(
        f"medians over the rounds; x rate and x CPU are ratios to {BASELINE} "
        "(rate: higher is better; CPU per call: lower is better)"
    )
    for name, figure in figures.items():
        spread = []
        for threads in shapes:
            low, high = min(figure.rate[threads]), max(figure.rate[threads])
            spread.append(f"{threads}t {low:,.0f}-{high:,.0f}/s")
        print(f"  {name}: range {', '.join(spread)}")


if __name__ == "__main__":
    main()
