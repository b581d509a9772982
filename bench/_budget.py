"""What a warm keyed REST request adds, measured in one process: the key check and the limit.

Issue 10's budget: the key check and the rate limit together add at most 100 µs of CPU
per warm request. ``bench/rest_overhead.py`` runs this module as a child process per leg
(keys off; keys on with the limit in Redis; keys on with the limit in the database), each
with the environment of the server it stands for, so that each leg's settings and its
rate-limit backend start from a clean process. It times exactly the steps
``capabilities_app/api/views.py`` runs for a client on a warm request, in the same order:
``admission.Door`` and ``identify`` (the hash lookup in the in-memory key table),
``authorize_capability``, ``credential_header`` and ``authorize`` (for a client),
``ratelimit.charge`` and ``ratelimit.with_headers`` on a small ``HttpResponse`` (made
beforehand, outside the timed part). CPU is ``time.process_time`` over the calls after a
warm-up; wall time is ``time.perf_counter`` (a Redis round trip shows there, not in CPU).

Environment: the workspace's (``DATABASE_URL`` and the settings), with
``BENCH_CLIENT_KEY`` (none: the keys-off leg), ``BENCH_ITERATIONS``, ``BENCH_WARMUP``,
``BENCH_NAMESPACE``, ``BENCH_CAPABILITY``, ``BENCH_TARGET``. Prints one JSON line; never
the key (only whether a client was found, and its name).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

BATCH = 1000  # responses made (untimed) before each timed batch of calls


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    import django

    django.setup()

    from django.http import HttpResponse
    from django.http.request import HttpHeaders

    from capabilities_app.access import admission, ratelimit

    namespace = os.environ.get("BENCH_NAMESPACE", "fleet-api")
    capability = os.environ.get("BENCH_CAPABILITY", "shipyard-fleet")
    target = os.environ.get("BENCH_TARGET", "get-ship")
    iterations = int(os.environ.get("BENCH_ITERATIONS", "20000"))
    warmup = int(os.environ.get("BENCH_WARMUP", "1000"))
    key = os.environ.pop("BENCH_CLIENT_KEY", "")
    headers = HttpHeaders({"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {})
    del key

    def admit(response: HttpResponse):
        """What the REST view runs for the caller, around the route match and the call."""
        door = admission.Door("rest", namespace, capability, None)
        client = admission.identify(door, headers)
        admission.authorize_capability(client, door)
        if client is not None:
            admission.credential_header(door, headers)
            admission.authorize(client, admission.Door("rest", namespace, capability), target)
        quota = ratelimit.charge(client, capability, target)
        return client, quota, ratelimit.with_headers(response, quota)

    def responses() -> list[HttpResponse]:
        return [
            HttpResponse(b'{"imo": "IMO9321483"}', content_type="application/json")
            for _ in range(BATCH)
        ]

    for _ in range(max(1, -(-warmup // BATCH))):  # whole batches, at least one
        for response in responses():
            client, quota, answered = admit(response)
    plain = set(HttpResponse(b"", content_type="application/json").headers)
    added = sorted(set(answered.headers) - plain)

    cpu = wall = 0.0
    done = 0
    while done < iterations:
        batch = responses()[: iterations - done]
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for response in batch:
            admit(response)
        cpu += time.process_time() - cpu_start
        wall += time.perf_counter() - wall_start
        done += len(batch)

    print(
        json.dumps(
            {
                "iterations": done,
                "cpu_us": 1e6 * cpu / done,
                "wall_us": 1e6 * wall / done,
                "client": client.name if client is not None else None,
                "quota": quota is not None,
                "headers": added,
            }
        )
    )


if __name__ == "__main__":
    main()
