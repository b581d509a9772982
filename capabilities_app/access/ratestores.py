"""Where rate-limit counters live: Redis, or the database; one store per process.

A call's counters (:class:`Counter`, made by ``ratelimit.counters_for``) move together
or not at all. Redis when ``REGISTRY_REDIS_URL`` is set (one Lua script per call: check
every counter, then increment them and set their expiry; one connection pool per
process), the database otherwise (``RateCounter`` rows, one conditional upsert per
counter; past windows deleted on the fly). When the store is unreachable the call is
served uncounted (fail-open, one warning per outage, the store tried again after a
backoff): a limit protects upstream quotas, and an outage of the counter store
should not become an outage of every capability.

Must not import ``ratelimit`` (which charges calls through this module), ``clients``,
httpx, the MCP SDK, or anything of ``api/`` or ``mcp/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from capabilities_app.core import database
from capabilities_app.store.models import RateCounter

__all__ = [
    "CHARGE_SCRIPT",
    "Counted",
    "Counter",
    "DatabaseStore",
    "Rate",
    "RedisStore",
    "Store",
    "current_store",
    "delete_expired",
    "reset",
]

# The rate limits' one logger (its outage warnings are what operators watch for).
logger = logging.getLogger("capabilities_app.access.ratelimit")

SWEEP_SECONDS = 60.0  # how often a process deletes past database windows
RETRY_FIRST_SECONDS = 1.0  # after a store failure, calls go uncounted this long, doubling
RETRY_MAX_SECONDS = 30.0


# -- what a store counts ------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``limit`` calls per ``seconds``, as written (``text``)."""

    limit: int
    seconds: int
    text: str


@dataclass(frozen=True)
class Counter:
    """One counter a call moves: a policy's bucket in the current window."""

    policy: str
    bucket: str  # "<client id>" or "<client id>|<grant>", hashed when long
    rate: Rate
    start: int
    end: int
    label: str  # what the detail names: "this client", "the grant fleet:list-ships"

    @property
    def key(self) -> str:
        """The Redis key: the client's bucket as a hash tag keeps a call's counters on one
        slot of a Redis Cluster."""
        client, _, grant = self.bucket.partition("|")
        return f"rl:{{{client}}}:{grant}:{self.rate.seconds}:{self.start}"

    @property
    def expires(self) -> int:
        """When the counter may go: one window after its own ends, so that a process whose
        clock lags a little still finds it."""
        return self.end + self.rate.seconds


# -- the stores ---------------------------------------------------------------------------

Counted = tuple[int | None, list[int]]  # (index of the refusing counter or None, counts)


class Store(ABC):
    """A place counters live."""

    def available(self) -> bool:
        """False while the store is known to be down: the call goes uncounted at once."""
        return True

    @abstractmethod
    def count(self, counters: list[Counter]) -> Counted | None:
        """Move every counter if all are under their limits; None if the store failed."""


# KEYS: the counters; ARGV: their limits, then their expiry times (epoch seconds).
# Every counter is read first; only if all are under their limits do they all move.
# Returns {refusing index or 0, count 1, count 2, ...}.
CHARGE_SCRIPT = """
local n = #KEYS
local counts = redis.call('MGET', unpack(KEYS))
local refused = 0
for i = 1, n do
  counts[i] = tonumber(counts[i]) or 0
  if refused == 0 and counts[i] >= tonumber(ARGV[i]) then refused = i end
end
if refused == 0 then
  for i = 1, n do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('EXPIREAT', KEYS[i], ARGV[n + i]) end
  end
end
table.insert(counts, 1, refused)
return counts
"""


class RedisStore(Store):
    """Counters as Redis keys, moved by one script per call: one round trip.

    The process keeps one pool of connections (redis-py's, which makes them, selects
    the database and authenticates); a call takes an idle connection, sends
    ``EVALSHA`` on it and puts it back. Taking it from a plain list instead of the
    pool's checked hand-out is what keeps the call within its CPU budget (the pool's
    per-call health check and locking cost more than the round trip itself). After a
    failure Redis is not asked for a backoff doubling from RETRY_FIRST_SECONDS to
    RETRY_MAX_SECONDS, so an outage costs no timeout per call.
    """

    def __init__(self, url: str) -> None:
        import hiredis
        import redis
        from redis.backoff import NoBackoff
        from redis.exceptions import NoScriptError
        from redis.retry import Retry

        timeout = settings.REGISTRY_RATE_LIMIT_TIMEOUT
        self.pool = redis.ConnectionPool.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # a failure is answered at once (served uncounted)
        )
        self.sha = hashlib.sha1(CHARGE_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis's script id
        self.pack = hiredis.pack_command
        self.errors = (redis.RedisError, OSError)
        self.lost = (redis.ConnectionError, redis.TimeoutError, OSError)
        self.no_script = NoScriptError
        self._idle: deque = deque()
        self._pid = os.getpid()
        self._retry_at = 0.0
        self._backoff = 0.0
        self._lock = threading.Lock()

    def available(self) -> bool:
        return self._backoff == 0.0 or time.monotonic() >= self._retry_at

    def count(self, counters: list[Counter]) -> Counted | None:
        command = [len(counters), *(c.key for c in counters)]
        command += [c.rate.limit for c in counters] + [c.expires for c in counters]
        try:
            answer = self._run(command)
        except self.errors as error:
            self.failed(error)
            return None
        if self._backoff:
            self._recovered()
        refused, *counts = answer
        return (refused - 1 if refused else None), [int(c) for c in counts]

    def _run(self, command: list) -> list:
        if self._pid != os.getpid():  # a forked child: the parent's sockets are not ours
            self._idle, self._pid = deque(), os.getpid()
        try:
            connection, reused = self._idle.pop(), True
        except IndexError:
            connection, reused = self.pool.get_connection(), False
        try:
            answer = self._script(connection, command)
        except self.lost:
            connection.disconnect()
            self.pool.release(connection)
            if not reused:
                raise
            # An idle connection the server closed (a restart, its idle timeout): the
            # script did not run on it; once more on a fresh connection.
            connection = self.pool.get_connection()
            try:
                answer = self._script(connection, command)
            except BaseException:
                connection.disconnect()
                self.pool.release(connection)
                raise
        except BaseException:
            connection.disconnect()
            self.pool.release(connection)
            raise
        self._idle.append(connection)
        return answer

    def _script(self, connection, command: list) -> list:
        # Packed by hiredis itself: redis-py's own packer checks every argument in
        # Python first, a third of the CPU a call spends outside the socket.
        try:
            connection.send_packed_command(
                [self.pack((b"EVALSHA", self.sha, *command))], check_health=False
            )
            return connection.read_response()
        except self.no_script:  # a restarted Redis forgot it: the one EVAL that loads it
            connection.send_command("EVAL", CHARGE_SCRIPT, *command)
            return connection.read_response()

    def close(self) -> None:
        self._idle.clear()
        self.pool.disconnect()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self._backoff == 0.0:
                logger.warning(
                    "rate limits: Redis is unreachable (%s); calls are served and not "
                    "counted until it answers again",
                    type(error).__name__,
                )
                self._backoff = RETRY_FIRST_SECONDS
            else:
                self._backoff = min(self._backoff * 2, RETRY_MAX_SECONDS)
            self._retry_at = time.monotonic() + self._backoff

    def _recovered(self) -> None:
        with self._lock:
            if self._backoff:
                logger.info("rate limits: Redis answers again; calls are counted")
            self._backoff = 0.0


class DatabaseStore(Store):
    """Counters as ``RateCounter`` rows. A database outage is the process's own
    (``database.py``: one warning, the stamp read again with backoff until it answers):
    calls go uncounted while it lasts."""

    def __init__(self) -> None:
        self._swept = 0.0
        self._sql: dict[str, str] = {}

    def available(self) -> bool:
        return database.outage() is None

    def count(self, counters: list[Counter]) -> Counted | None:
        try:
            counted = self._count(counters)
            self._sweep()
        except database.UNAVAILABLE as error:
            database.discard()
            database.down(error)
            return None
        return counted

    def _count(self, counters: list[Counter]) -> Counted:
        if len(counters) == 1:  # one statement: atomic by itself
            counted = self._increment(counters[0])
            if counted is not None:
                return None, [counted]
            return 0, self._read(counters)
        try:
            with transaction.atomic():
                counts = []
                for index, counter in enumerate(counters):
                    counted = self._increment(counter)
                    if counted is None:
                        raise _Refused(index)  # rolls back the counters moved before it
                    counts.append(counted)
                return None, counts
        except _Refused as refused:
            return refused.index, self._read(counters)

    def _increment(self, counter: Counter) -> int | None:
        """Add one to the counter if it is under its limit; its new count, else None.

        One conditional upsert (SQLite 3.35+ and PostgreSQL): the row lock (PostgreSQL)
        or the write lock (SQLite) makes concurrent calls take turns, so the count is
        exact; a counter at its limit is not updated and returns no row.
        """
        expires_at = dt.datetime.fromtimestamp(counter.expires, tz=dt.UTC)
        with connection.cursor() as cursor:
            cursor.execute(
                self._upsert(),
                [
                    counter.bucket,
                    counter.start,
                    connection.ops.adapt_datetimefield_value(expires_at),
                    counter.rate.limit,
                ],
            )
            row = cursor.fetchone()
        return None if row is None else row[0]

    def _upsert(self) -> str:
        sql = self._sql.get(connection.vendor)
        if sql is None:
            quote = connection.ops.quote_name
            table = quote(RateCounter._meta.db_table)
            columns = {field.name: field.column for field in RateCounter._meta.concrete_fields}
            bucket, window, count, expires = (
                quote(columns[name]) for name in ("bucket", "window", "count", "expires_at")
            )
            # Only quoted names are formatted in; every value is a bound parameter.
            sql = (
                f"INSERT INTO {table} ({bucket}, {window}, {count}, {expires}) "  # noqa: S608
                f"VALUES (%s, %s, 1, %s) ON CONFLICT ({bucket}, {window}) "
                f"DO UPDATE SET {count} = {table}.{count} + 1 "
                f"WHERE {table}.{count} < %s RETURNING {count}"
            )
            self._sql[connection.vendor] = sql
        return sql

    def _read(self, counters: list[Counter]) -> list[int]:
        found = {
            (bucket, window): count
            for bucket, window, count in RateCounter.objects.filter(
                bucket__in=[c.bucket for c in counters]
            ).values_list("bucket", "window", "count")
        }
        return [found.get((c.bucket, c.start), 0) for c in counters]

    def _sweep(self) -> None:
        """Delete past windows, at most every SWEEP_SECONDS per process."""
        moment = time.monotonic()
        if self._swept and moment - self._swept < SWEEP_SECONDS:
            return
        self._swept = moment
        delete_expired()


class _Refused(Exception):
    def __init__(self, index: int) -> None:
        self.index = index


def delete_expired() -> int:
    """Delete database counters whose window is over; how many."""
    deleted, _ = RateCounter.objects.filter(expires_at__lt=dt.datetime.now(tz=dt.UTC)).delete()
    return deleted


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def current_store() -> Store:
    """The store for the current settings (one per process, and per Redis URL)."""
    url = settings.REGISTRY_REDIS_URL or ""
    store = _stores.get(url)
    if store is None:
        with _stores_lock:
            store = _stores.get(url)
            if store is None:
                store = RedisStore(url) if url else DatabaseStore()
                _stores[url] = store
    return store


def reset() -> None:
    """Forget the stores, their connections and their backoff (tests)."""
    with _stores_lock:
        for store in _stores.values():
            if isinstance(store, RedisStore):
                store.close()
        _stores.clear()
