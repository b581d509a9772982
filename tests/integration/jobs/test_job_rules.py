"""The rules of jobs, in-process (eager, as the embedded default runs them): which
calls may be repeated, backoff and Retry-After, what a job keeps of a request, and
MCP tool jobs (hinted idempotent or not).
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.test import Client
from django.utils import timezone

from capabilities_app.api.views import wants_async
from capabilities_app.jobs import run
from capabilities_app.jobs import submit as jobs
from capabilities_app.store.models import Job
from tests.integration.jobs.conftest import CAPABILITY
from tests.integration.rest.conftest import load
from tests.support.upstream import Answer


@pytest.fixture
def served(upstream, settings, transactional_db):
    settings.REGISTRY_JOB_RETRY_BASE_SECONDS = 0.01
    load(CAPABILITY, base_uri=upstream.url, name="job-tests")
    return upstream


@pytest.fixture
def rest(settings) -> Client:
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    return Client(HTTP_HOST="127.0.0.1")


def job_for(kind: str, namespace: str, target: str, method: str = "", **fields) -> Job:
    return Job(kind=kind, namespace=namespace, target=target, method=method, **fields)


class TestMayRepeat:
    @pytest.mark.parametrize(
        ("method", "target", "key", "expected"),
        [
            ("GET", "/items/{{id}}", "", True),
            ("GET", "/flaky", "", True),
            ("POST", "/flaky", "", False),
            ("POST", "/flaky", "k-1", True),
            ("POST", "/orders", "", False),
        ],
    )
    def test_rest_operations(self, served, method, target, key, expected) -> None:
        job = job_for("rest", "work", target, method, idempotency_key=key)
        assert run.may_repeat(job, run.locate(job)) is expected

    @pytest.mark.parametrize(("tool", "expected"), [("flaky-read", True), ("flaky-write", False)])
    def test_tools_by_their_idempotent_hint(self, served, tool, expected) -> None:
        job = job_for("tool", "work-tools", tool)
        assert run.may_repeat(job, run.locate(job)) is expected

    def test_an_operation_no_longer_served_is_not_found(self, served) -> None:
        assert run.locate(job_for("rest", "work", "/gone", "GET")) is None
        assert run.locate(job_for("tool", "nowhere", "x")) is None


class TestBackoff:
    def test_it_grows_exponentially_with_jitter(self, settings) -> None:
        settings.REGISTRY_JOB_RETRY_BASE_SECONDS = 1.0
        for attempt, (low, high) in {1: (0.5, 1), 2: (1, 2), 3: (2, 4)}.items():
            delays = {run.backoff(attempt) for _ in range(50)}
            assert all(low <= d <= high for d in delays)
            assert len(delays) > 1  # jittered

    def test_retry_after_in_seconds_or_as_a_date_is_a_floor(self, settings) -> None:
        settings.REGISTRY_JOB_RETRY_BASE_SECONDS = 0.01
        assert run.backoff(1, "7") >= 7
        later = format_datetime(timezone.now() + timedelta(seconds=30), usegmt=True)
        assert 28 <= run.backoff(1, later) <= 30
        assert run.backoff(1, "soon") <= 0.01  # unreadable: ignored

    def test_no_delay_reaches_the_visibility_timeout(self, settings) -> None:
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 10}
        assert run.backoff(1, "3600") == 5
        assert run.backoff(30) == 5


class TestRequests:
    @pytest.mark.parametrize(
        ("prefer", "expected"),
        [
            ("respond-async", True),
            ("Respond-Async", True),
            ("wait=10, respond-async", True),
            ("respond-async; foo=bar", True),
            ("return=minimal", False),
            ("", False),
        ],
    )
    def test_prefer_respond_async(self, rf, prefer, expected) -> None:
        from rest_framework.request import Request

        request = Request(rf.get("/", HTTP_PREFER=prefer) if prefer else rf.get("/"))
        assert wants_async(request) is expected

    def test_a_job_keeps_the_call_arguments_and_nothing_of_the_request(self, served, rest) -> None:
        response = rest.get(
            "/rest/work/items/1?a=1&a=2",
            headers={
                "Prefer": "respond-async",
                "Authorization": "Bearer secret",
                "Cookie": "s=1",
                "X-Trace": "t-1",
            },
        )
        assert response.status_code == 202, response.content
        job = Job.objects.get(pk=response.json()["id"])
        # The operation reads its declared id (and item_id, which the request lacks).
        assert job.params == {"arguments": {"id": "1"}}
        assert job.fingerprint == jobs.fingerprint("GET", "/items/{{id}}", {"id": "1"})


class TestToolJobs:
    def submit(self, tool: str, arguments: dict) -> Job:
        job, created = jobs.submit(
            jobs.Submission(
                kind="tool",
                namespace="work-tools",
                target=tool,
                method="",
                capability="job-tests",
                arguments=arguments,
            )
        )
        assert created
        job.refresh_from_db()
        return job

    def test_an_idempotent_tool_is_retried(self, served) -> None:
        served.answer("GET", "/flaky", Answer(503), Answer(200, {"ok": True}))

        job = self.submit("flaky-read", {})

        assert (job.status, job.attempts, job.result) == ("succeeded", 2, {"ok": True})

    def test_a_tool_not_hinted_idempotent_is_not(self, served) -> None:
        served.answer("POST", "/flaky", Answer(503), Answer(200, {"ok": True}))

        job = self.submit("flaky-write", {"body": {"n": 1}})

        assert (job.status, job.attempts, job.upstream_status) == ("failed", 1, 503)
        assert served.only().json() == {"n": 1}


class TestResultCap:
    def test_a_result_over_the_cap_fails_the_job_and_is_not_kept(self, served, settings) -> None:
        settings.REGISTRY_JOB_RESULT_MAX_BYTES = 100
        served.answer("GET", "/flaky", Answer(200, {"data": "x" * 500}))

        job, _ = jobs.submit(
            jobs.Submission(
                kind="rest",
                namespace="work",
                target="/flaky",
                method="GET",
                capability="job-tests",
            )
        )
        job.refresh_from_db()

        assert job.status == "failed"
        assert job.result is None
        assert job.error["code"] == "result_too_large"
