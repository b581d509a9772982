"""Calling the project's WSGI application directly from a test (schemathesis's
``from_wsgi``), as Django's test client does.

``WSGIHandler`` closes the database connection when a request ends (the
``request_finished`` signal runs ``close_old_connections``; with ``CONN_MAX_AGE=0`` it
closes every time). Inside a test that is the test's own connection, in the middle of its
transaction: on PostgreSQL the next query fails with "the connection is closed" (the
registry then answers 503 ``database_unavailable``); SQLite's in-memory test database is
never closed, so the mistake only shows there. Django's test client disconnects the
handler for the same reason; :func:`test_connection_kept` does it around direct calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core import signals
from django.db import close_old_connections


@contextmanager
def test_connection_kept() -> Iterator[None]:
    """While inside, a request served in this thread leaves the test's connection open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
