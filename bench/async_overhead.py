"""What an async job costs against the same synchronous call, in one run.

Starts, as subprocesses, the demo fleet upstream, a throwaway SQLite database with
``fixtures/shipyard-fleet.yaml`` imported, the registry under gunicorn (``gthread``, one
worker) and, in worker mode, a Celery worker (``celery -A registry worker``, prefork)
on Redis with a queue of its own. Then, for the same ``GET
/rest/fleet-api/ships/<imo>``, paths interleaved:

- ``sync``: the synchronous call (the baseline every ratio is taken against);
- ``202``: the same request with ``Prefer: respond-async``, until its ``202 Accepted``
  (parameters checked, the job row written and, with a broker, published): the time
  a caller waits to hand the call over, against the time it waits for the answer;
- ``end-to-end``: from sending that request until a poll of ``/api/jobs/<id>`` (in a
  tight loop) sees ``succeeded``; and the job's own ``finished_at - created_at``
  (server clocks, no polling in it), split into ``queued`` (created → started) and
  ``running`` (started → finished: the attempt, the upstream call, the result saved).

In eager mode (no broker, the embedded default) the job runs inside the request, so
``202`` already holds the whole call.

The same for MCP (``run_mcp_server``, tool ``get-ship`` on ``/mcp/fleet-tools``, raw
2026-07-28 requests): ``mcp sync`` is ``tools/call`` from a client that does not declare
the tasks extension (the MCP baseline); ``mcp task`` the same call declaring
``io.modelcontextprotocol/tasks``, until its ``CreateTaskResult``; ``mcp task e2e``
until a ``tasks/get`` (tight loop) answers ``completed``.

    .venv/bin/python bench/async_overhead.py [--mode worker|eager|both] [--requests 300]
        [--warmup 30] [--broker redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import Workspace, manage, wait_ready  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

ASYNC = {"Prefer": "respond-async"}
MODERN = "2026-07-28"
TASKS = "io.modelcontextprotocol/tasks"


def percentile(sorted_values: list[float], q: float) -> float:
    index = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def finished(client: httpx.Client, base: str, location: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(base + location).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            if job["status"] != "succeeded":
                sys.exit(f"job {job['id']} {job['status']}: {job['error']}")
            return job
        if time.monotonic() > deadline:
            sys.exit(f"job {job['id']} still {job['status']} after {timeout:g} s")


def server_ms(job: dict, start: str, end: str) -> float:
    return (
        datetime.fromisoformat(job[end]) - datetime.fromisoformat(job[start])
    ).total_seconds() * 1000


def measure(base: str, path: str, requests: int, warmup: int) -> dict[str, list[float]]:
    """Latencies in ms: sync, 202, end-to-end (client) and created→finished (server)."""
    timings: dict[str, list[float]] = {
        "sync": [],
        "202": [],
        "end-to-end": [],
        "job row": [],
        " queued": [],
        " running": [],
    }
    with httpx.Client(timeout=30) as client:
        for index in range(warmup + requests):
            start = time.perf_counter()
            response = client.get(base + path)
            sync_ms = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                sys.exit(f"sync: {response.status_code} {response.text[:300]}")

            start = time.perf_counter()
            response = client.get(base + path, headers=ASYNC)
            accepted_ms = (time.perf_counter() - start) * 1000
            if response.status_code != 202:
                sys.exit(f"async: {response.status_code} {response.text[:300]}")
            job = finished(client, base, response.headers["Location"])
            end_ms = (time.perf_counter() - start) * 1000
            if index >= warmup:
                timings["sync"].append(sync_ms)
                timings["202"].append(accepted_ms)
                timings["end-to-end"].append(end_ms)
                timings["job row"].append(server_ms(job, "created_at", "finished_at"))
                timings[" queued"].append(server_ms(job, "created_at", "started_at"))
                timings[" running"].append(server_ms(job, "started_at", "finished_at"))
    return {label: sorted(values) for label, values in timings.items()}


def mcp(client: httpx.Client, url: str, method: str, params: dict, declare: bool) -> dict:
    """One raw 2026-07-28 request; its result (exits on an error)."""
    capabilities = {"extensions": {TASKS: {}}} if declare else {}
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    }
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
        "mcp-name": params.get("name") or params.get("taskId") or "",
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    response = client.post(url, json=body, headers=headers)
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = [line[5:] for line in text.splitlines() if line.startswith("data:")][-1]
    answer = json.loads(text)
    if "result" not in answer or answer["result"].get("isError"):
        sys.exit(f"{method}: {response.status_code} {response.text[:300]}")
    return answer["result"]


def measure_mcp(url: str, imo: str, requests: int, warmup: int) -> dict[str, list[float]]:
    """Latencies in ms: a synchronous tools/call, its task handle, and the task completed."""
    timings: dict[str, list[float]] = {"mcp sync": [], "mcp task": [], "mcp task e2e": []}
    call = {"name": "get-ship", "arguments": {"imo": imo}}
    with httpx.Client(timeout=30) as client:
        for index in range(warmup + requests):
            start = time.perf_counter()
            result = mcp(client, url, "tools/call", call, declare=False)
            sync_ms = (time.perf_counter() - start) * 1000
            if result.get("resultType") == "task":
                sys.exit("a client that did not declare the extension got a task")

            start = time.perf_counter()
            task = mcp(client, url, "tools/call", call, declare=True)
            task_ms = (time.perf_counter() - start) * 1000
            if task.get("resultType") != "task":
                sys.exit(f"no task for a declaring client: {task}")
            while task["status"] == "working":
                task = mcp(client, url, "tasks/get", {"taskId": task["taskId"]}, declare=True)
            if task["status"] != "completed":
                sys.exit(f"task {task['taskId']} {task['status']}")
            if task["result"]["structuredContent"] != result["structuredContent"]:
                sys.exit(f"task result {task['result']} differs from the call's {result}")
            end_ms = (time.perf_counter() - start) * 1000
            if index >= warmup:
                timings["mcp sync"].append(sync_ms)
                timings["mcp task"].append(task_ms)
                timings["mcp task e2e"].append(end_ms)
    return {label: sorted(values) for label, values in timings.items()}


def report(mode: str, timings: dict[str, list[float]], base: str = "sync") -> None:
    print(f"\n{mode}: {len(timings[base])} requests per path (ms)")
    print(f"{'path':<14} {'median':>8} {'p99':>8} {'mean':>8} {'x ' + base:>10}")
    baseline = statistics.median(timings[base])
    for label, values in timings.items():
        median = statistics.median(values)
        print(
            f"{label:<14} {median:>8.2f} {percentile(values, 99):>8.2f} "
            f"{statistics.fmean(values):>8.2f} {median / baseline:>10.2f}"
        )


def run_mode(mode: str, args: argparse.Namespace) -> None:
    environment = {"REGISTRY_CATALOG_CHECK_SECONDS": "5"}
    if args.database_url:
        environment["DATABASE_URL"] = args.database_url
    if mode == "worker":
        environment.update(
            CELERY_BROKER_URL=args.broker,
            CELERY_TASK_DEFAULT_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
        )
    upstream_port, registry_port, mcp_port = free_port(), free_port(), free_port()
    with Workspace(f"bench-async-{mode}-", **environment) as workspace:
        env = workspace.env
        document = workspace.fleet_document(upstream_port)
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "import_capability", str(document))
        upstream = workspace.start_upstream(upstream_port)
        registry = workspace.start_gunicorn(registry_port, "gthread", 8)
        command = [sys.executable, "manage.py", "run_mcp_server", "--transport", "http"]
        server = workspace.spawn("mcp", [*command, "--host", "127.0.0.1", "--port", str(mcp_port)])
        wait_ready(f"http://127.0.0.1:{upstream_port}/ships", upstream, workspace.log("upstream"))
        wait_ready(f"http://127.0.0.1:{registry_port}/rest/", registry, workspace.log("gunicorn"))
        wait_ready(f"http://127.0.0.1:{mcp_port}/mcp/", server, workspace.log("mcp"))
        if mode == "worker":
            command = [sys.executable, "-m", "celery", "-A", "registry", "worker"]
            command += ["--concurrency", str(args.concurrency), "--without-mingle"]
            command += ["--without-gossip", "--loglevel", "WARNING"]
            workspace.spawn("worker", command)
        base = f"http://127.0.0.1:{registry_port}"
        timings = measure(base, f"/rest/fleet-api/ships/{args.imo}", args.requests, args.warmup)
        if mode == "worker":
            how = f"Celery prefork worker x {args.concurrency} on {args.broker}"
        else:
            how = "no broker: the job runs inside the request"
        report(f"{mode} ({how})", timings)
        added = statistics.median(timings["202"]) - statistics.median(timings["sync"])
        print(f"202 - sync (median): {added:+.2f} ms")
        url = f"http://127.0.0.1:{mcp_port}/mcp/fleet-tools"
        timings = measure_mcp(url, args.imo, args.requests, args.warmup)
        report(f"{mode} MCP tools/call get-ship, 2026-07-28", timings, "mcp sync")
        added = statistics.median(timings["mcp task"]) - statistics.median(timings["mcp sync"])
        print(f"task handle - sync call (median): {added:+.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("worker", "eager", "both"), default="both")
    parser.add_argument("--requests", type=int, default=300, help="measured, per path")
    parser.add_argument("--warmup", type=int, default=30, help="warm-up rounds")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument(
        "--broker", default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--imo", default="IMO9321483")
    parser.add_argument(
        "--database-url", default="", help="an empty database (default: a throwaway SQLite file)"
    )
    args = parser.parse_args()
    database = args.database_url.split(":")[0] if args.database_url else "SQLite"
    print(
        f"GET /rest/fleet-api/ships/{args.imo}: sync vs Prefer: respond-async "
        f"(gunicorn gthread 1x8, DEBUG=false, {database}); "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    for mode in ("eager", "worker") if args.mode == "both" else (args.mode,):
        run_mode(mode, args)


if __name__ == "__main__":
    main()
