"""The version stamp that tells every process when to rebuild its catalog.

Writers (the importer, the admin) call :func:`bump` inside their transaction: the
new stamp becomes visible to other processes exactly when their change does (the
row lock also orders concurrent writers). Readers call :func:`current_version`,
which asks the database at most every ``REGISTRY_CATALOG_CHECK_SECONDS`` and
otherwise answers from memory, so a warm request reads no database.

When the database cannot be read (a restart, a failover), the last stamp read is
kept and served: the outage is recorded (``database``: one warning), the stamp is
read again after a backoff that doubles from the check interval up to
``REGISTRY_DATABASE_RETRY_MAX_SECONDS`` (so an outage does not make requests wait
on the database one after another), and the outage ends at the first read that
succeeds. Only a process that never read a stamp has nothing to serve:
:class:`~capabilities_app.core.errors.DatabaseUnavailable` (503).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F

from capabilities_app.core import database
from capabilities_app.store.models import RegistryState

__all__ = [
    "MIN_RETRY_SECONDS",
    "Kept",
    "bump",
    "current_clients_version",
    "current_version",
    "forget",
    "holding",
    "is_clients_fresh",
    "is_fresh",
    "read_stamp",
]


T = TypeVar("T")

# The first retry after a failure waits at least this long, even with a check interval
# of 0 (the tests' setting): an outage must never mean a database attempt per request.
MIN_RETRY_SECONDS = 0.5


def bump(field: str = "version") -> None:
    """Move the stamp (inside the caller's transaction, if any).

    ``field`` is ``version`` (the catalog) or ``clients_version`` (client keys, grants).
    """
    updated = RegistryState.objects.filter(pk=1).update(**{field: F(field) + 1})
    if not updated:
        RegistryState.objects.get_or_create(pk=1, defaults={field: 1})


def _query() -> tuple[int, int]:
    stamps = RegistryState.objects.filter(pk=1).values_list("version", "clients_version")
    return stamps.first() or (0, 0)


def read_stamp() -> tuple[int, int]:
    """The stamp from the database; a connection that broke while idle is replaced once.

    Outside web requests (the MCP server's threads) nothing health-checks a kept
    connection: after a database restart the first query on it fails although the
    database is back. That failure is retried at once on a new connection.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    reused = connection.connection is not None and not connection.in_atomic_block
    try:
        return _query()
    except database.UNAVAILABLE:
        database.discard()
        if not reused:
            raise
    try:
        return _query()
    except database.UNAVAILABLE:
        database.discard()
        raise


class _Reader:
    def __init__(
        self,
        read: Callable[[], int | tuple[int, int]] = read_stamp,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.clock = clock
        self.version: int | None = None
        self.clients_version = 0  # read with ``version``, in the same query
        self.next_check = 0.0  # clock time when the stamp is to be read again
        self.failures = 0  # failed reads in a row
        self.lock = threading.Lock()

    def due(self) -> bool:
        return self.clock() >= self.next_check

    def fresh(self) -> bool:
        """Known, and no read due (checked within the interval, or backing off)."""
        return self.version is not None and not self.due()

    def retry_delay(self) -> float:
        base = max(settings.REGISTRY_CATALOG_CHECK_SECONDS, MIN_RETRY_SECONDS)
        ceiling = max(settings.REGISTRY_DATABASE_RETRY_MAX_SECONDS, base)
        return min(base * 2 ** min(self.failures - 1, 30), ceiling)

    def current(self) -> int:
        # The casts: fresh() means a stamp is known, and so does a lock not taken (only
        # a known stamp tries the lock without blocking); mypy cannot follow either.
        if self.fresh():
            return cast(int, self.version)
        # One thread reads; the others keep serving the known stamp rather than queue
        # behind a read that may be waiting on a connect timeout.
        if not self.lock.acquire(blocking=self.version is None):
            return cast(int, self.version)
        try:
            if self.fresh():
                return cast(int, self.version)
            if self.version is None and self.failures and not self.due():
                raise database.unavailable()  # cold start, backing off: not a new attempt
            return self.check()
        finally:
            self.lock.release()

    def check(self) -> int:
        try:
            version = self.read()
        except database.UNAVAILABLE as error:
            self.failures += 1
            self.next_check = self.clock() + self.retry_delay()
            unavailable = database.down(error)
            if self.version is None:
                raise unavailable from error
            return self.version
        self.failures = 0
        if isinstance(version, tuple):
            version, self.clients_version = version
        self.version = version
        self.next_check = self.clock() + settings.REGISTRY_CATALOG_CHECK_SECONDS
        database.up()
        return version

    def forget(self) -> None:
        self.version = None
        self.clients_version = 0
        self.failures = 0
        self.next_check = 0.0


_reader = _Reader()


def current_version() -> int:
    """The stamp, as last read (re-read when older than the check interval).

    During a database outage: the last stamp read; with none ever read,
    :class:`~capabilities_app.core.errors.DatabaseUnavailable`.
    """
    return _reader.current()


def current_clients_version() -> int:
    """The client keys' stamp, read with the catalog's (same interval, same outage rules)."""
    _reader.current()
    return _reader.clients_version


def is_fresh(version: int) -> bool:
    """True when ``version`` is the stamp and was checked within the interval."""
    return _reader.fresh() and _reader.version == version


def is_clients_fresh(version: int) -> bool:
    """True when ``version`` is the clients stamp and was checked within the interval."""
    return _reader.fresh() and _reader.clients_version == version


def holding() -> bool:
    """True while the database is away and no new attempt is due: serve what is held."""
    return database.outage() is not None and _reader.version is not None and not _reader.due()


def forget() -> None:
    """Drop the remembered stamp and any outage (the next call reads the database)."""
    _reader.forget()
    database.forget()


class Kept(Generic[T]):
    """What a process builds from the database and keeps until its stamp moves.

    The catalog and the client key table are both kept so: :meth:`get` rebuilds when
    ``stamp()`` has moved (one thread builds, under a lock); while the database is
    unreachable the last one built is served, and with none built yet
    :class:`~capabilities_app.core.errors.DatabaseUnavailable` (503) is raised.
    :meth:`peek` answers without asking the database, for async code.
    """

    def __init__(
        self,
        stamp: Callable[[], int],
        fresh: Callable[[int], bool],
        build: Callable[[int], T],
    ) -> None:
        self.stamp = stamp
        self.fresh = fresh
        self.build = build
        self.held: tuple[int, T] | None = None  # (version, value), swapped as one
        self.lock = threading.Lock()

    def _usable(self, version: int) -> T | None:
        held = self.held
        if held is not None and (held[0] == version or database.outage() is not None):
            return held[1]
        return None

    def get(self) -> T:
        version = self.stamp()
        value = self._usable(version)
        if value is not None:
            return value
        with self.lock:
            value = self._usable(version)
            if value is not None:
                return value
            try:
                self.held = (version, self.build(version))
            except database.UNAVAILABLE as error:
                database.discard()
                unavailable = database.down(error)
                if self.held is None:
                    raise unavailable from error
            return self.held[1]

    def peek(self) -> T | None:
        """The value when it may be used without asking the database now, else None
        (stamp checked within the interval, or an outage between two attempts)."""
        held = self.held
        if held is not None and (self.fresh(held[0]) or holding()):
            return held[1]
        return None

    def forget(self) -> None:
        self.held = None
