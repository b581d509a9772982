"""The database as a dependency that can go away: which errors say so, the outage they
start, the registry error that answers for it, and the connection hygiene that lets a
process recover by itself.

A PostgreSQL restart, a failover or a full disk shows up as an ``OperationalError`` or
``InterfaceError`` (Django's, or psycopg's own). The registry keeps serving the catalog
it holds; what truly needs the database answers 503 ``database_unavailable``
(:class:`DatabaseUnavailable`). One warning is logged when an outage begins and one
info line when it ends (``versioning`` reads the stamp again with backoff and calls
:func:`up`); errors are named by their class only, never by their message (a DSN or a
host could be in it).

Django closes a broken connection around each web request and Celery around each task;
code that queries outside both (the MCP server's worker threads) uses :func:`session`.

Must not import models, ``versioning``, httpx or the MCP SDK.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import InterfaceError, OperationalError, connections

from capabilities_app.core.errors import DatabaseUnavailable

__all__ = [
    "UNAVAILABLE",
    "Outage",
    "discard",
    "down",
    "forget",
    "logged",
    "outage",
    "session",
    "tidy",
    "unavailable",
    "up",
]

logger = logging.getLogger(__name__)

# What "the database is not there" looks like. Not IntegrityError, DataError or
# ProgrammingError: those are the registry's own bugs or a caller's data (500 or 4xx).
UNAVAILABLE: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
try:
    import psycopg
except ImportError:  # SQLite only
    pass
else:
    UNAVAILABLE += (psycopg.OperationalError, psycopg.InterfaceError)


@dataclass(frozen=True)
class Outage:
    since: datetime  # wall clock (UTC), for /readyz
    started: float  # monotonic, for the duration logged at the end
    error: str  # the class of the error that started it


_outage: Outage | None = None
_lock = threading.Lock()


def down(error: BaseException) -> DatabaseUnavailable:
    """Record that the database failed; the error to answer with (503).

    The first failure of an outage logs a warning; later ones are silent until
    :func:`up` ends it.
    """
    global _outage
    name = type(error).__name__
    with _lock:
        if _outage is None:
            _outage = Outage(datetime.now(UTC), time.monotonic(), name)
            logger.warning(
                "the database is unreachable (%s): serving the catalog held in memory; what "
                "needs the database answers 503 database_unavailable until it returns",
                name,
            )
    return DatabaseUnavailable.named(name)


def up() -> None:
    """The database answered: end the outage, if any (one info line)."""
    global _outage
    if _outage is None:  # the common case, without the lock
        return
    with _lock:
        outage, _outage = _outage, None
    if outage is not None:
        logger.info(
            "the database is reachable again after %.1f s (it failed with %s)",
            time.monotonic() - outage.started,
            outage.error,
        )


def logged(response: Any) -> Any:
    """Mark a 503 of a known outage as logged: the outage has its one warning; Django
    would otherwise log every request answered during it (``django.request``)."""
    response._has_been_logged = True
    return response


def outage() -> Outage | None:
    """The current outage, or None when the database last answered."""
    return _outage


def unavailable() -> DatabaseUnavailable:
    """The error to answer while an outage is known (without a new failure to name)."""
    current = _outage
    return DatabaseUnavailable.named(current.error if current else "unknown error")


def forget() -> None:
    """Drop the outage without a word (tests)."""
    global _outage
    with _lock:
        _outage = None


def discard() -> None:
    """Close this thread's connections after a failure: the next query opens a new one.

    Not inside a transaction (a test's, or a caller's atomic block): closing there
    would break it; the block's own error handling runs instead.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            with contextlib.suppress(Exception):  # closing a dead socket may complain
                connection.close()


def tidy() -> None:
    """What Django does around each request, for work outside one: close connections
    that failed or outlived ``CONN_MAX_AGE``, and health-check the rest at their next
    query (``CONN_HEALTH_CHECKS``)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            with contextlib.suppress(*UNAVAILABLE):
                connection.close_if_unusable_or_obsolete()


@contextlib.contextmanager
def session() -> Iterator[None]:
    """Database work outside a web request or a Celery task (the MCP server's threads):
    connections tidied first; a database failure discards them, is recorded, and
    becomes :class:`DatabaseUnavailable`."""
    tidy()
    try:
        yield
    except UNAVAILABLE as error:
        discard()
        raise down(error) from error
