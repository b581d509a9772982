"""The version stamp that tells every process when to rebuild its catalog.

Writers (the importer, the admin) call :func:`schedule_bump` inside their
transaction; the stamp moves once, when the transaction commits, whatever the
number of rows written. Readers call :func:`current_version`, which asks the
database at most every ``REGISTRY_CATALOG_CHECK_SECONDS`` and otherwise answers
from memory, so a warm request reads no database.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F

from .models import RegistryState


def bump() -> None:
    """Move the stamp now."""
    updated = RegistryState.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        RegistryState.objects.get_or_create(pk=1, defaults={"version": 1})


def _bump_on_commit() -> None:
    bump()


def schedule_bump() -> None:
    """Move the stamp when the current transaction commits (now, outside one)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        bump()
        return
    # One bump per transaction: skip if ours is already queued (a rollback clears the queue).
    if any(entry[1] is _bump_on_commit for entry in connection.run_on_commit):
        return
    transaction.on_commit(_bump_on_commit)


class _Reader:
    def __init__(self) -> None:
        self.version: int | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()

    def current(self) -> int:
        now = time.monotonic()
        if (
            self.version is not None
            and now - self.checked_at < settings.REGISTRY_CATALOG_CHECK_SECONDS
        ):
            return self.version
        with self.lock:
            if (
                self.version is None
                or now - self.checked_at >= settings.REGISTRY_CATALOG_CHECK_SECONDS
            ):
                self.version = (
                    RegistryState.objects.filter(pk=1).values_list("version", flat=True).first()
                    or 0
                )
                self.checked_at = time.monotonic()
            return self.version

    def forget(self) -> None:
        self.version = None


_reader = _Reader()


def current_version() -> int:
    """The stamp, as last read (re-read when older than the check interval)."""
    return _reader.current()


def forget() -> None:
    """Drop the remembered stamp (the next call reads the database)."""
    _reader.forget()
