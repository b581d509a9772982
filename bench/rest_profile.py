"""Where one warm REST request's CPU goes: the WSGI application called in this process.

Starts the nginx fixed-answer upstream (``bench/baselines/upstream.py``), imports
``fixtures/shipyard-fleet.yaml`` into a fresh SQLite database, warms the catalog and
the outbound connection, then calls ``registry.wsgi.application`` directly ``--requests``
times (``GET /rest/fleet-api/ships/<imo>``: routing, binds, the call, the mapping) under
``cProfile``, timed by CPU (waits on sockets do not count), and prints the CPU per
request and the functions that take it, grouped by the layer they belong to (the
registry, Django, DRF, the outbound call, the rest). The profiler inflates code that
makes many small calls: read the shares as where to look, then time that part alone.
No server, no load generator: the figures are the application's own cost, the part a
WSGI server adds is measured by ``bench/rest_baselines.py``.

    .venv/bin/python bench/rest_profile.py [--requests 3000] [--top 25] [--keys]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import (  # noqa: E402
    KEYS_ON,
    Workspace,
    manage,
    rate_limit_backend,
    redis_answers,
)
from bench.baselines.upstream import start_upstream  # noqa: E402
from tests.support.processes import free_port, listening  # noqa: E402

LAYERS = (
    ("registry", "/capabilities_app/"),
    ("django", "/django/"),
    ("drf", "/rest_framework/"),
    ("http.client, socket, ssl", "/http/"),
    ("http.client, socket, ssl", "/socket.py"),
    ("http.client, socket, ssl", "/ssl.py"),
    ("json", "/json/"),
)


def layer_of(filename: str) -> str:
    for name, marker in LAYERS:
        if marker in filename:
            return name
    return "other (stdlib, builtins)"


def environ(path: str, headers: dict[str, str]) -> dict:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "RAW_URI": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    env.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--imo", default="IMO9321483")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime, cumtime")
    parser.add_argument(
        "--keys",
        action="store_true",
        help="client keys on, the limit counted in Redis (as rest_baselines)",
    )
    args = parser.parse_args()

    keyed = {**KEYS_ON, **rate_limit_backend(redis_answers())} if args.keys else {}
    with Workspace("rest-profile-", **keyed) as workspace:
        port = free_port()
        _, upstream = start_upstream(workspace, port)
        while not listening(port):
            time.sleep(0.05)
        manage(workspace.env, "migrate", "--verbosity", "0")
        manage(workspace.env, "import_capability", str(workspace.fleet_document(port)))
        headers = {}
        if args.keys:
            key = workspace.create_client_key("profile", "shipyard-fleet")
            headers["Authorization"] = f"Bearer {key}"
        os.environ.update(workspace.env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
        from registry.wsgi import application

        path = f"/rest/fleet-api/ships/{args.imo}"

        def call() -> None:
            statuses: list[str] = []
            body = application(environ(path, headers), lambda s, h, e=None: statuses.append(s))
            b"".join(body)
            body.close()
            if not statuses[0].startswith("200"):
                sys.exit(f"{path} answered {statuses[0]}")

        for _ in range(200):
            call()
        start = time.process_time()
        for _ in range(args.requests):
            call()
        plain = (time.process_time() - start) / args.requests
        profile = cProfile.Profile(time.process_time)  # CPU, not waits on sockets
        profile.enable()
        for _ in range(args.requests):
            call()
        profile.disable()

    stats = pstats.Stats(profile)
    own: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        own[layer_of(filename)] += tottime
        total += tottime
    print(f"upstream: {upstream}; python {sys.version.split()[0]}")
    print(f"CPU per request, unprofiled: {plain * 1e6:.0f} µs ({args.requests} requests)")
    print("share of the profiled CPU by the layer a function belongs to (its own time):")
    for name, seconds in sorted(own.items(), key=lambda item: -item[1]):
        print(f"  {name:28} {seconds / total:6.1%}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
