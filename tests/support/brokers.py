"""Real Redis for the worker tests: the machine's (127.0.0.1:6379) or one of their own.

Worker tests skip on a machine without Redis, except in CI (``CI=true``), where
they must run: there a missing Redis fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import free_port, listening, wait_listening

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; in CI the worker tests must run", pytrace=False)
    pytest.skip(reason)


def machine_redis() -> str:
    """The machine's Redis URL (skips, or fails in CI, when it does not answer)."""
    host_port = REDIS_URL.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if not listening(int(port), host):
        unavailable(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


class RedisServer:
    """A redis-server of the test's own on a free port, to stop and restart at will."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_listening(
            self.process,
            self.port,
            timeout=10,
            what=f"redis-server did not start on port {self.port}",
        )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
