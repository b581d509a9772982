"""The async job tests run twice: eager (no broker, the embedded default) and with a
real Celery worker on the real Redis. Both modes run a real registry (gunicorn) in
processes of its own, against a real upstream on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.brokers import machine_redis
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import RecordingUpstream

CAPABILITY = Path(__file__).with_name("capability.yaml")
ASYNC = {"Prefer": "respond-async"}
FINAL = {"succeeded", "failed", "cancelled"}

# Short durations so retries, leases and redeliveries happen within a test.
FAST = {
    "REGISTRY_JOB_RETRY_BASE_SECONDS": "0.05",
    "REGISTRY_UPSTREAM_TIMEOUT": "2",
    "REGISTRY_JOB_LEASE_SECONDS": "3",
    "CELERY_VISIBILITY_TIMEOUT": "4",
    "CELERY_BROKER_TRANSPORT_OPTIONS": json.dumps(
        {"unacked_restore_interval": 1, "unacked_restore_throttle": 1}
    ),
}


def broker_environment(broker_url: str) -> dict[str, str]:
    """A broker, and a queue of the test's own on it."""
    return {
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": f"jobs-test-{uuid.uuid4().hex[:10]}",
    }


@dataclass
class Stack:
    mode: str
    registry: RegistryProcess
    upstream: RecordingUpstream
    base: str
    workers: list = field(default_factory=list)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.base + path, timeout=30, **kwargs)

    def submit(self, method: str, path: str, headers: dict | None = None, **kwargs):
        return self.request(method, path, headers={**ASYNC, **(headers or {})}, **kwargs)

    def job(self, location: str, headers: dict | None = None) -> httpx.Response:
        return self.request("GET", location, headers=headers)

    def wait(self, location: str, headers: dict | None = None, timeout: float = 30) -> dict:
        """The job once it is final (polls its URL)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.job(location, headers)
            assert response.status_code == 200, response.text
            job = response.json()
            if job["status"] in FINAL:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job still {job['status']} after {timeout} s: {job}")
            time.sleep(0.05)

    def shell(self, code: str) -> str:
        """Run Python in the registry's environment (``manage.py shell -c``); its stdout."""
        return self.registry.manage("shell", "-v", "0", "-c", code).stdout

    def settle(self, seconds: float = 1.0) -> None:
        """Give a worker time to run what it would run (used to show that nothing runs)."""
        if self.mode == "worker":
            time.sleep(seconds)


def start_stack(
    mode: str, workdir: Path, upstream: RecordingUpstream, *, worker: bool = True, **environment
) -> Stack:
    registry = RegistryProcess(workdir, **FAST, **environment)
    registry.import_document(CAPABILITY, name="job-tests", base_uri=upstream.url)
    stack = Stack(mode, registry, upstream, registry.start_web())
    if mode == "worker" and worker:
        stack.workers.append(registry.start_worker())
    return stack


def stop_stack(stack: Stack) -> None:
    """Stop its processes, and drop its queue from the broker (nothing left behind)."""
    stack.registry.stop()
    broker = stack.registry.env.get("CELERY_BROKER_URL")
    if broker:
        import redis

        with contextlib.suppress(redis.RedisError):  # a test may have stopped this Redis
            redis.Redis.from_url(broker, socket_timeout=1).delete(
                stack.registry.env["CELERY_TASK_DEFAULT_QUEUE"]
            )


@pytest.fixture(scope="module")
def job_upstream():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["eager", "worker"])
def job_stack(request, job_upstream, tmp_path_factory):
    mode = request.param
    environment = broker_environment(machine_redis()) if mode == "worker" else {}
    stack = start_stack(mode, tmp_path_factory.mktemp(mode), job_upstream, **environment)
    yield stack
    stop_stack(stack)


@pytest.fixture
def stack(job_stack: Stack) -> Stack:
    """The module's stack, its upstream forgetting what earlier tests did."""
    job_stack.upstream.reset()
    return job_stack
