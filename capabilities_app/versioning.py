"""The version stamp that tells every process when to rebuild its catalog.

Writers (the importer, the admin) call :func:`bump` inside their transaction: the
new stamp becomes visible to other processes exactly when their change does (the
row lock also orders concurrent writers). Readers call :func:`current_version`,
which asks the database at most every ``REGISTRY_CATALOG_CHECK_SECONDS`` and
otherwise answers from memory, so a warm request reads no database.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db.models import F

from .models import RegistryState


def bump() -> None:
    """Move the stamp (inside the caller's transaction, if any)."""
    updated = RegistryState.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        RegistryState.objects.get_or_create(pk=1, defaults={"version": 1})


class _Reader:
    def __init__(self) -> None:
        self.version: int | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()

    def fresh(self) -> bool:
        """Known and checked within ``REGISTRY_CATALOG_CHECK_SECONDS``."""
        age = time.monotonic() - self.checked_at
        return self.version is not None and age < settings.REGISTRY_CATALOG_CHECK_SECONDS

    def current(self) -> int:
        if self.fresh():
            return self.version
        with self.lock:
            if not self.fresh():
                stamps = RegistryState.objects.filter(pk=1).values_list("version", flat=True)
                self.version = stamps.first() or 0
                self.checked_at = time.monotonic()
            return self.version

    def forget(self) -> None:
        self.version = None


_reader = _Reader()


def current_version() -> int:
    """The stamp, as last read (re-read when older than the check interval)."""
    return _reader.current()


def is_fresh(version: int) -> bool:
    """True when ``version`` is the stamp and was checked within the interval."""
    return _reader.fresh() and _reader.version == version


def forget() -> None:
    """Drop the remembered stamp (the next call reads the database)."""
    _reader.forget()
