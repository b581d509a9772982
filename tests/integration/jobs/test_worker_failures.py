"""What a real deployment goes through: a worker killed mid-job, Redis stopped, Redis
restarted without persistence. Real Celery workers, real redis-server processes.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.integration.jobs.conftest import broker_environment, start_stack, stop_stack
from tests.support.brokers import RedisServer, machine_redis
from tests.support.upstream import Answer

pytestmark = pytest.mark.processes  # see tests/conftest.py

SLOW = 1.5  # seconds the upstream takes: long enough to kill the worker during the call


def wait_for_call(upstream, method: str, path: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not upstream.calls(method, path):
        assert time.monotonic() < deadline, f"the upstream never got {method} {path}"
        time.sleep(0.02)


@pytest.fixture
def worker_stack(tmp_path, job_upstream):
    job_upstream.reset()
    stack = start_stack("worker", tmp_path, job_upstream, **broker_environment(machine_redis()))
    yield stack
    stop_stack(stack)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_stack(tmp_path, job_upstream, own_redis):
    """A registry on a Redis of its own, and no worker yet."""
    job_upstream.reset()
    environment = broker_environment(own_redis.url)
    stack = start_stack("worker", tmp_path, job_upstream, worker=False, **environment)
    yield stack
    stop_stack(stack)


class TestWorkerKilled:
    def test_a_restarted_worker_completes_the_job_and_the_effect_happens_once(
        self, worker_stack
    ) -> None:
        stack, upstream = worker_stack, worker_stack.upstream
        upstream.idempotent.add(("POST", "/slow-orders"))
        upstream.answer("POST", "/slow-orders", Answer(201, {"order": 1}, delay=SLOW))
        key = {"Idempotency-Key": uuid.uuid4().hex}

        response = stack.submit("POST", "/rest/work/slow-orders", json={"n": 1}, headers=key)
        location = response.headers["Location"]
        wait_for_call(upstream, "POST", "/slow-orders")
        stack.registry.kill(stack.workers.pop())  # SIGKILL, mid-call
        assert stack.job(location).json()["status"] == "running"
        stack.workers.append(stack.registry.start_worker("restarted"))

        job = stack.wait(location)

        assert (job["status"], job["result"], job["attempts"]) == ("succeeded", {"order": 1}, 2)
        calls = upstream.calls("POST", "/slow-orders")
        assert len(calls) == 2  # the interrupted call, and the one that finished
        assert {c.header("idempotency-key") for c in calls} == {key["Idempotency-Key"]}
        assert len(upstream.effects) == 1  # the upstream applied it once

    def test_without_an_idempotency_key_the_interrupted_post_fails_and_is_not_repeated(
        self, worker_stack
    ) -> None:
        stack, upstream = worker_stack, worker_stack.upstream
        upstream.answer("POST", "/slow-orders", Answer(201, {"order": 2}, delay=SLOW))

        location = stack.submit("POST", "/rest/work/slow-orders", json={"n": 2}).headers["Location"]
        wait_for_call(upstream, "POST", "/slow-orders")
        stack.registry.kill(stack.workers.pop())
        stack.workers.append(stack.registry.start_worker("restarted"))

        job = stack.wait(location)

        assert (job["status"], job["attempts"]) == ("failed", 1)
        assert job["error"]["code"] == "job_interrupted"
        assert len(upstream.calls("POST", "/slow-orders")) == 1

    def test_an_interrupted_get_is_run_again(self, worker_stack) -> None:
        stack, upstream = worker_stack, worker_stack.upstream
        upstream.answer("GET", "/flaky", Answer(200, {"v": 1}, delay=SLOW))

        location = stack.submit("GET", "/rest/work/flaky").headers["Location"]
        wait_for_call(upstream, "GET", "/flaky")
        stack.registry.kill(stack.workers.pop())
        stack.workers.append(stack.registry.start_worker("restarted"))

        job = stack.wait(location)

        assert (job["status"], job["attempts"], job["result"]) == ("succeeded", 2, {"v": 1})


class TestRedisDown:
    def test_an_async_request_is_refused_at_once_and_the_sync_path_works(
        self, own_redis_stack, own_redis
    ) -> None:
        stack = own_redis_stack
        assert stack.submit("GET", "/rest/work/items/1").status_code == 202
        own_redis.stop()

        started = time.monotonic()
        response = stack.submit("GET", "/rest/work/items/2")
        elapsed = time.monotonic() - started

        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "queue_unavailable"
        assert elapsed < 2, f"the refusal took {elapsed:.2f} s"
        synchronous = stack.request("GET", "/rest/work/items/3")
        assert synchronous.status_code == 200
        assert synchronous.json() == {"id": "/items/3", "method": "GET"}

        own_redis.start()  # the same port: the registry reconnects by itself
        assert stack.submit("GET", "/rest/work/items/4").status_code == 202

    def test_jobs_queued_before_a_redis_restart_are_requeued_and_run(
        self, own_redis_stack, own_redis
    ) -> None:
        stack = own_redis_stack
        location = stack.submit("GET", "/rest/work/items/9").headers["Location"]
        own_redis.stop()  # no persistence: the message is gone
        own_redis.start()
        stack.workers.append(stack.registry.start_worker())
        stack.settle(1.0)
        assert stack.job(location).json()["status"] == "queued"

        stack.registry.env["REGISTRY_JOB_REQUEUE_SECONDS"] = "0"
        out = stack.registry.manage("job_maintenance").stdout

        assert "requeued 1 queued jobs" in out
        job = stack.wait(location)
        assert (job["status"], job["result"]) == ("succeeded", {"id": "/items/9", "method": "GET"})
