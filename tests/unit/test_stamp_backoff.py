"""The version-stamp reader while the database is away (issue 9 point 25), on simulated time.

A fake stamp query that fails while "the database is down" and a clock the test moves:
the number and the moments of database attempts are asserted, never durations.
"""

from __future__ import annotations

import itertools
import logging

import pytest
from django.db import OperationalError

from capabilities_app.core import database
from capabilities_app.core.errors import DatabaseUnavailable
from capabilities_app.store.versioning import _Reader

STEP = 0.25  # a request every quarter second (exact in binary floating point)
SECRET = "password=hunter2 host=db.internal"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FlakyDatabase:
    """The stamp query: answers ``version`` while up; raises like psycopg while down."""

    def __init__(self, clock: Clock, version: int = 7) -> None:
        self.clock = clock
        self.version = version
        self.up = True
        self.attempts: list[float] = []

    def read(self) -> int:
        self.attempts.append(self.clock.now)
        if not self.up:
            raise OperationalError(f"connection failed: {SECRET}")
        return self.version


@pytest.fixture
def world(settings):
    settings.REGISTRY_CATALOG_CHECK_SECONDS = 0.5
    settings.REGISTRY_DATABASE_RETRY_MAX_SECONDS = 30
    database.forget()
    clock = Clock()
    db = FlakyDatabase(clock)
    yield clock, db, _Reader(read=db.read, clock=clock)
    database.forget()


def serve(reader: _Reader, clock: Clock, seconds: float) -> list[int]:
    """Requests every STEP for ``seconds`` of simulated time; the versions they served."""
    served = []
    for _ in range(round(seconds / STEP)):
        clock.now += STEP
        served.append(reader.current())
    return served


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_an_unreadable_stamp_keeps_the_last_version_served(world):
    """Issue 9 point 25: while the stamp cannot be read, the last version read is served."""
    clock, db, reader = world
    assert reader.current() == 7
    db.up = False
    assert serve(reader, clock, 60) == [7] * 240  # never an exception


def test_failed_reads_back_off_doubling_to_the_cap(world):
    """Issue 9 point 25: one database attempt per backoff period (doubling, capped at 30 s)."""
    clock, db, reader = world
    reader.current()
    db.up = False
    outage_start = clock.now
    serve(reader, clock, 150)
    attempts = [t for t in db.attempts if t > outage_start]
    # Checks were due every 0.5 s; after each failure the wait doubles up to 30 s.
    assert gaps(attempts) == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert len(attempts) == 10  # instead of 300 (a read every 0.5 s)


def test_one_warning_per_outage_and_one_info_line_on_recovery(world, caplog):
    """Issue 9 point 25: an outage logs one warning (the error's class, no message) and
    its end one info line; the next outage warns again."""
    clock, db, reader = world
    caplog.set_level(logging.INFO, logger="capabilities_app.core.database")
    reader.current()
    for _ in range(2):
        db.up = False
        serve(reader, clock, 60)
        db.up = True
        serve(reader, clock, 31)  # the next attempt (at most 30 s later) succeeds
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in records] == ["WARNING", "INFO", "WARNING", "INFO"]
    assert "OperationalError" in records[0][1]
    assert "reachable again" in records[1][1]
    assert all("hunter2" not in message and "db.internal" not in message for _, message in records)


def test_recovery_returns_to_the_check_interval_and_sees_new_versions(world):
    """Issue 9 point 25: service resumes by itself: the first good read ends the backoff."""
    clock, db, reader = world
    reader.current()
    db.up = False
    serve(reader, clock, 20)
    assert database.outage() is not None
    db.up, db.version = True, 8  # back, with an import made meanwhile
    served = serve(reader, clock, 20)
    assert served[-1] == 8
    assert database.outage() is None
    back = next(t for t in db.attempts if t > 20)
    assert gaps([t for t in db.attempts if t >= back]) == [0.5] * len(
        [t for t in db.attempts if t > back]
    )


def test_a_cold_start_during_an_outage_answers_database_unavailable_with_backoff(world):
    """Issue 9 point 25: no stamp ever read: 503 database_unavailable, attempts still backed off."""
    clock, db, reader = world
    db.up = False
    failures = 0
    for _ in range(round(20 / STEP)):
        clock.now += STEP
        with pytest.raises(DatabaseUnavailable) as raised:
            reader.current()
        failures += 1
        assert raised.value.code == "database_unavailable" and raised.value.status == 503
        assert "OperationalError" in raised.value.detail and "hunter2" not in raised.value.detail
    assert failures == 80
    assert gaps(db.attempts) == [0.5, 1, 2, 4, 8]
    db.up = True
    clock.now = db.attempts[-1] + 16
    assert reader.current() == 7
