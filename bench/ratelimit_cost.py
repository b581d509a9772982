"""CPU time of the client check and the rate limit on a warm call, per call.

In this one process (no server): a throwaway SQLite database (or ``--database-url``,
e.g. a PostgreSQL database the caller made), migrated, with one client key granted a
capability. Then, warmed up and in a loop, single-threaded:

1. ``keytable.find_client(key)``: the key check (prefix lookup in the table in memory,
   one HMAC-SHA256, expiry);
2. ``ratelimit.charge(client, ...)`` counting in Redis (``--redis-url``): one Lua script,
   one round trip;
3. ``ratelimit.charge`` counting in the database: one conditional upsert;
4. the key check and the Redis charge together (what a warm REST or MCP call pays).

For each: CPU time of this process per call (``time.process_time``: the registry's
side; the Redis server's own CPU is its process's) and wall time per call (with the
round trip). The limit is set far above the calls made, so nothing is refused.

    .venv/bin/python bench/ratelimit_cost.py [--calls 20000] [--warmup 2000]
        [--redis-url redis://127.0.0.1:6379/15] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))


def measure(label: str, call: Callable[[], object], calls: int, warmup: int) -> None:
    for _ in range(warmup):
        call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    cpu = (time.process_time() - cpu) / calls * 1e6
    wall = (time.perf_counter() - wall) / calls * 1e6
    print(f"{label:<44} {cpu:8.1f} µs CPU {wall:8.1f} µs wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="ratelimit-bench-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="registry.settings",
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        DATABASE_URL=options.database_url or f"sqlite:///{workdir.name}/bench.sqlite3",
        REGISTRY_RATE_LIMIT="1000000000/day",
        REGISTRY_REDIS_URL="",
        CELERY_BROKER_URL="",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from capabilities_app.access import clients, keytable, ratelimit, ratestores
    from capabilities_app.store.models import ClientKey, RateCounter

    call_command("migrate", verbosity=0)
    ClientKey.objects.filter(name="bench").delete()
    key = clients.create_key("bench", grants=["fleet"]).secret
    client = keytable.find_client(key)
    calls, warmup = options.calls, options.warmup
    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"{calls} calls after {warmup} warm-up calls"
    )

    measure("key check (find_client)", lambda: keytable.find_client(key), calls, warmup)

    settings.REGISTRY_REDIS_URL = options.redis_url
    ratestores.reset()
    import redis

    server = redis.Redis.from_url(options.redis_url)
    server.flushdb()
    measure(
        "charge, Redis",
        lambda: ratelimit.charge(client, "fleet", "list-ships"),
        calls,
        warmup,
    )
    server.flushdb()
    measure(
        "key check + charge, Redis",
        lambda: ratelimit.charge(keytable.find_client(key), "fleet", "list-ships"),
        calls,
        warmup,
    )
    server.flushdb()

    settings.REGISTRY_REDIS_URL = ""
    ratestores.reset()
    measure(
        "charge, database",
        lambda: ratelimit.charge(client, "fleet", "list-ships"),
        calls // 4,
        warmup // 4,
    )
    measure(
        "key check + charge, database",
        lambda: ratelimit.charge(keytable.find_client(key), "fleet", "list-ships"),
        calls // 4,
        warmup // 4,
    )
    RateCounter.objects.all().delete()
    ClientKey.objects.filter(name="bench").delete()


if __name__ == "__main__":
    main()
