"""Where one MCP session's ``tools/call`` time goes, per protocol generation, in process.

Issue 12's one-session target (added median <= 1.5 ms over a direct call) holds for
``2026-07-28`` and not for ``2025-11-25``; FastMCP and the SDK's low-level server pay the
same extra in ``bench/mcp_baselines.py``. This benchmark says what the extra is made of.

Starts the nginx fixed-answer upstream (``bench/baselines/upstream.py``), imports
``fixtures/shipyard-fleet.yaml`` into a fresh SQLite database, and serves the gateway (as
``run_mcp_server`` serves it: ``Probes(Gateway(...))`` under uvicorn, uvloop and
httptools when installed) in a thread of this process. For each generation, interleaved
over ``--rounds`` rounds, one keep-alive ``httpx.Client`` makes ``--calls`` sequential
``get-ship`` calls (the requests of ``bench/mcp_baselines.py``: ``2025-11-25`` after an
``initialize`` handshake, carrying ``Mcp-Session-Id``; ``2026-07-28`` self-contained).
It prints per call: the wall-clock median, the CPU of the event loop's thread, the CPU of
every other server thread (the worker threads that run the runtime), and the number of
times the event loop's thread was switched out (voluntary context switches of that
thread from ``/proc``: each is a wait, e.g. for another task or for the upstream).
Then, with ``--profile``, the functions of the event loop's thread that one generation
spends more CPU in than the other (``cProfile`` timed by that thread's CPU).

    .venv/bin/python bench/mcp_profile.py [--rounds 5] [--calls 500] [--profile] [--top 20]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench._processes import Workspace, manage  # noqa: E402
from bench.baselines.upstream import start_upstream  # noqa: E402
from bench.mcp_baselines import LEGACY, MODERN, Endpoint  # noqa: E402
from tests.support.processes import free_port, listening  # noqa: E402

GENERATIONS = (LEGACY, MODERN)


def thread_cpu(ident: int) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(ident))


def switches(native_id: int) -> int:
    """Voluntary context switches of one thread of this process, from /proc."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    for line in status.splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


class Served:
    """The gateway under uvicorn in a thread of this process (its loop kept, to profile it)."""

    def __init__(self) -> None:
        import uvicorn

        from capabilities_app.mcp.gateway import Gateway
        from capabilities_app.mcp.probes import Probes

        gateway = Gateway(
            namespaces=None,
            stateless=False,
            allowed_hosts=["127.0.0.1:*"],
            allowed_origins=[],
            check_seconds=3600,
        )
        self.port = free_port()
        config = uvicorn.Config(
            Probes(gateway), host="127.0.0.1", port=self.port, lifespan="on", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from uvicorn._compat import asyncio_run

        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve()

        asyncio_run(serve(), loop_factory=self.server.config.get_loop_factory())

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                sys.exit("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp/fleet-tools/mcp"


def other_threads_cpu(exclude: set[int]) -> float:
    """CPU of this process's threads other than ``exclude`` (native ids), from /proc."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) in exclude:
            continue
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(served: Served, generation: str, calls: int, imo: str) -> dict[str, float]:
    endpoint = Endpoint("registry", generation, served.url, os.getpid())
    endpoint.for_ship(imo)
    with httpx.Client(timeout=10) as client:
        headers = endpoint.session(client)
        for _ in range(50):
            if not endpoint.call(client, headers):
                sys.exit(f"{generation}: a warm-up call failed")
        loop = served.thread
        exclude = {threading.get_native_id(), loop.native_id or 0}
        cpu0, others0 = thread_cpu(loop.ident or 0), other_threads_cpu(exclude)
        waits0 = switches(loop.native_id or 0)
        walls = []
        for _ in range(calls):
            start = time.perf_counter()
            ok = endpoint.call(client, headers)
            walls.append(time.perf_counter() - start)
            if not ok:
                sys.exit(f"{generation}: a call failed")
        return {
            "wall": statistics.median(walls),
            "loop_cpu": (thread_cpu(loop.ident or 0) - cpu0) / calls,
            "other_cpu": (other_threads_cpu(exclude) - others0) / calls,
            "waits": (switches(loop.native_id or 0) - waits0) / calls,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--imo", default="IMO9321483")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    with Workspace("mcp-profile-") as workspace:
        port = free_port()
        _, upstream = start_upstream(workspace, port)
        while not listening(port):
            time.sleep(0.05)
        manage(workspace.env, "migrate", "--verbosity", "0")
        manage(workspace.env, "import_capability", str(workspace.fleet_document(port)))
        os.environ.update(workspace.env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
        import django

        django.setup()

        results: dict[str, list[dict[str, float]]] = {g: [] for g in GENERATIONS}
        with Served() as served:
            for round_ in range(args.rounds):
                order = GENERATIONS if round_ % 2 == 0 else tuple(reversed(GENERATIONS))
                for generation in order:
                    results[generation].append(measure(served, generation, args.calls, args.imo))
            print(f"upstream: {upstream}; python {sys.version.split()[0]}; {args.rounds} rounds")
            print(
                f"{'generation':12} {'wall median':>12} {'loop CPU':>10} "
                f"{'worker CPU':>11} {'loop waits':>11}   (per call; medians of rounds)"
            )
            for generation in GENERATIONS:
                rows = results[generation]

                def mid(key: str, rows=rows) -> float:
                    return statistics.median(r[key] for r in rows)

                print(
                    f"{generation:12} {mid('wall') * 1e3:9.3f} ms {mid('loop_cpu') * 1e6:7.0f} µs "
                    f"{mid('other_cpu') * 1e6:8.0f} µs {mid('waits'):11.2f}"
                )
            if args.profile:
                profile_generations(served, args)


def profile_generations(served: Served, args: argparse.Namespace) -> None:
    """Each generation's calls under cProfile in the event loop's thread (by its CPU)."""
    loop = served.loop
    assert loop is not None
    stats: dict[str, pstats.Stats] = {}
    for generation in GENERATIONS:
        profiler = cProfile.Profile(time.thread_time)
        asyncio.run_coroutine_threadsafe(_enable(profiler), loop).result()
        measure(served, generation, args.calls, args.imo)
        asyncio.run_coroutine_threadsafe(_disable(profiler), loop).result()
        stats[generation] = pstats.Stats(profiler)
    own = {g: _own_times(s) for g, s in stats.items()}
    legacy, modern = own[LEGACY], own[MODERN]
    extra = sorted(
        ((legacy.get(k, 0.0) - modern.get(k, 0.0), k) for k in set(legacy) | set(modern)),
        reverse=True,
    )
    print(f"\nevent-loop CPU per call that {LEGACY} spends more than {MODERN} (own time):")
    for seconds, name in extra[: args.top]:
        print(f"  {seconds / args.calls * 1e6:7.1f} µs  {name}")


async def _enable(profiler: cProfile.Profile) -> None:
    profiler.enable()


async def _disable(profiler: cProfile.Profile) -> None:
    profiler.disable()


def _own_times(stats: pstats.Stats) -> dict[str, float]:
    out: dict[str, float] = {}
    for (filename, line, name), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = "/".join(filename.split("/")[-2:])
        out[f"{short}:{line}({name})"] = tottime
    return out


if __name__ == "__main__":
    main()
