"""Issue 9 point 25: the database goes away (a restart, a failover) and comes back.

A real registry (gunicorn, the MCP server, eager jobs) runs on a PostgreSQL database of
the test's own, reached through a TCP proxy (``tests/support/tcp_proxy.py``) that the
tests cut and restore. REST and MCP keep serving the catalog they hold; what needs the
database answers 503 problem+json ``database_unavailable``; one warning per outage; the
processes recover by themselves. PostgreSQL is always there in CI (the test fails if it
is not); elsewhere the test is skipped without it.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.integration.jobs.conftest import broker_environment
from tests.integration.mcp.conftest import run
from tests.support.brokers import machine_redis, unavailable
from tests.support.mcp_tasks import TasksExtension
from tests.support.registry_process import RegistryProcess
from tests.support.tcp_proxy import TcpProxy
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

CAPABILITY = Path(__file__).parents[1] / "jobs" / "capability.yaml"
ASYNC = {"Prefer": "respond-async"}
PROBLEM = "application/problem+json"
OUTAGE_WARNING = "database is unreachable ("
RECOVERY_INFO = "database is reachable again"


def postgres_admin_url() -> str:
    """Where to create the test's database: the PostgreSQL leg's server, else the machine's."""
    leg = os.environ.get("DATABASE_URL", "")
    if leg.startswith(("postgres://", "postgresql://")):
        return leg
    return os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@dataclass
class Stack:
    registry: RegistryProcess
    proxy: TcpProxy
    upstream: RecordingUpstream
    web: str
    mcp: str
    admin_session: str

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.web + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.web + path, timeout=30, **kwargs)

    def log(self, base_url: str, kind: str) -> str:
        port = base_url.rsplit(":", 1)[1]
        return (self.registry.workdir / f"{kind}-{port}.log").read_text()

    def admin(self) -> httpx.Response:
        return self.get("/admin/", cookies={"sessionid": self.admin_session})

    @contextlib.contextmanager
    def outage(self):
        """The database away for the block; afterwards, wait until the registry says ready."""
        self.proxy.cut()
        try:
            yield
        finally:
            self.proxy.restore()
            self.wait_ready()

    def wait_ready(self, timeout: float = 20) -> None:
        """Poll until both processes say ready again (bounded; the tests then assert)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                rest = self.get("/rest/work/items/ready")
                bases = [base for base in (self.web, self.mcp) if base]
                ready = [httpx.get(base + "/readyz", timeout=10) for base in bases]
                if rest.status_code == 200 and all(r.status_code in (200, 404) for r in ready):
                    return
            time.sleep(0.1)


def call_tool(url: str, tool: str, arguments: dict, *, tasks: bool = False):
    """A ``tools/call`` through the SDK client (with the tasks extension: 2026-07-28)."""

    async def use() -> Any:
        http = httpx2.AsyncClient(timeout=30)
        extensions = [TasksExtension()] if tasks else None
        mode = "2026-07-28" if tasks else "auto"
        async with (
            http,
            Client(
                streamable_http_client(url, http_client=http), mode=mode, extensions=extensions
            ) as client,
        ):
            return await client.call_tool(tool, arguments)

    return run(use())


def admin_session(registry: RegistryProcess) -> str:
    """A logged-in superuser's session key (made before any outage)."""
    code = (
        "from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY; "
        "from django.contrib.auth.models import User; "
        "from django.contrib.sessions.backends.db import SessionStore; "
        "u = User.objects.create_superuser('outage-admin', 'a@example.org', 'pw-outage-1'); "
        "s = SessionStore(); s[SESSION_KEY] = str(u.pk); "
        "s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'; "
        "s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.create(); print(s.session_key)"
    )
    return registry.manage("shell", "-v", "0", "-c", code).stdout.strip()


@contextlib.contextmanager
def registry_behind_a_proxy(workdir: Path, *, mcp: bool = True, **environment: str):
    """A registry (gunicorn, and the MCP server) on a new PostgreSQL database via a proxy."""
    import psycopg

    admin_url = postgres_admin_url()
    name = f"registry_outage_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL is not reachable ({type(error).__name__})")
    database_url = admin_url.rsplit("/", 1)[0] + "/" + name
    target = admin_url.split("@")[-1].split("/")[0]
    host, _, port = target.rpartition(":")
    proxy = TcpProxy(host or "127.0.0.1", int(port or 5432)).start()
    upstream = RecordingUpstream().start()
    registry = None
    try:
        registry = RegistryProcess(
            workdir,
            database_url=proxy.url(database_url),
            REGISTRY_DATABASE_RETRY_MAX_SECONDS="1",
            LOG_LEVEL="INFO",
            **environment,
        )
        registry.import_document(CAPABILITY, name="outage-tests", base_uri=upstream.url)
        session = admin_session(registry)
        web = registry.start_web()
        yield Stack(registry, proxy, upstream, web, registry.start_mcp() if mcp else "", session)
    finally:
        if registry is not None:
            registry.stop()
        proxy.stop()
        upstream.stop()
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory):
    # Eager jobs (no broker): a job runs in the web process that submits it.
    with registry_behind_a_proxy(tmp_path_factory.mktemp("outage"), CELERY_BROKER_URL="") as stack:
        yield stack


@pytest.fixture
def stack(outage_stack: Stack) -> Stack:
    outage_stack.upstream.reset()
    # Warm: the catalog is loaded in both processes before the database goes away.
    assert outage_stack.get("/rest/work/items/warm").status_code == 200
    assert not call_tool(outage_stack.mcp + "/mcp/work-tools", "flaky-read", {}).is_error
    outage_stack.upstream.reset()
    return outage_stack


def assert_database_problem(response: httpx.Response) -> dict:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert body["status"] == 503
    assert "database" in body["detail"] and "Error" in body["detail"], body
    return body


def test_rest_keeps_serving_the_last_catalog_while_the_database_is_away(stack):
    """Issue 9 point 25: REST answers from the catalog in memory while the stamp cannot be read."""
    with stack.outage():
        answers = []
        for number in range(6):  # across several stamp checks (every 0.2 s)
            answers.append(stack.get(f"/rest/work/items/{number}"))
            time.sleep(0.25)
        assert [a.status_code for a in answers] == [200] * 6, [a.text[:200] for a in answers]
        assert answers[-1].json() == {"id": "/items/5", "method": "GET"}
        assert [r.path for r in stack.upstream.received] == [f"/items/{n}" for n in range(6)]


def test_mcp_tools_call_keeps_working_while_the_database_is_away(stack):
    """Issue 9 point 25: an MCP client's tools/call succeeds from the catalog in memory."""
    with stack.outage():
        results = []
        for _ in range(3):
            results.append(call_tool(stack.mcp + "/mcp/work-tools", "flaky-read", {}))
            time.sleep(0.25)
        assert [r.is_error for r in results] == [False] * 3, results
        assert [r.path for r in stack.upstream.received] == ["/flaky"] * 3


def test_async_submission_during_an_outage_answers_503_problem_json(stack):
    """Issue 9 point 25: Prefer: respond-async needs the job table: 503 problem+json, not 500."""
    with stack.outage():
        response = stack.get("/rest/work/items/7", headers=ASYNC)
        body = assert_database_problem(response)
        assert str(stack.proxy.port) not in response.text  # no DSN, no address
        assert body["instance"] == "/rest/work/items/7"
        assert stack.upstream.received == []


def test_job_reads_during_an_outage_answer_503_problem_json(stack):
    """Issue 9 point 25: GET /api/jobs/<id> while the database is away: 503 problem+json."""
    submitted = stack.get("/rest/work/items/8", headers=ASYNC)
    assert submitted.status_code == 202, submitted.text
    location = submitted.headers["Location"]
    with stack.outage():
        assert_database_problem(stack.get(location))
    assert stack.get(location).json()["status"] == "succeeded"


def test_admin_during_an_outage_answers_503_problem_json_not_an_html_500(stack):
    """Issue 9 point 25: the admin needs the database: 503 problem+json, never an HTML 500."""
    assert stack.admin().status_code == 200
    with stack.outage():
        assert_database_problem(stack.admin())
        # The login page needs no database; logging in does.
        with httpx.Client(base_url=stack.web, timeout=30) as browser:
            page = browser.get("/admin/login/")
            assert page.status_code == 200
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
            login = browser.post(
                "/admin/login/",
                data={
                    "csrfmiddlewaretoken": token,
                    "username": "outage-admin",
                    "password": "pw-outage-1",
                },
                headers={"Referer": stack.web + "/admin/login/"},
            )
            assert_database_problem(login)
    assert stack.admin().status_code == 200


def test_mcp_task_submission_during_an_outage_is_an_error_result_naming_the_cause(stack):
    """Issue 9 point 25: a tools/call as a task (a job) answers an isError 503 problem."""
    with stack.outage():
        result = call_tool(stack.mcp + "/mcp/work-tools", "flaky-read", {}, tasks=True)
        assert result.is_error, result
        text = result.content[0].text
        assert '"code": "database_unavailable"' in text and '"status": 503' in text, text
    assert not call_tool(stack.mcp + "/mcp/work-tools", "flaky-read", {}, tasks=True).is_error


def test_readyz_says_degraded_during_an_outage_and_ready_after(stack):
    """Issue 9 point 25: /readyz shows the outage (still serving); /healthz stays 200."""
    for base in (stack.web, stack.mcp):
        ready = httpx.get(base + "/readyz", timeout=10)
        assert ready.status_code == 200, (base, ready.text)
        body = ready.json()
        assert body["status"] == "ready" and body["database"] == "ok", body
        assert isinstance(body["catalog_version"], int)
    with stack.outage():
        stack.get("/rest/work/items/9")  # a request that checks the stamp
        call_tool(stack.mcp + "/mcp/work-tools", "flaky-read", {})
        time.sleep(0.3)
        for base in (stack.web, stack.mcp):
            degraded = httpx.get(base + "/readyz", timeout=10)
            assert degraded.status_code == 503, (base, degraded.text)
            body = degraded.json()
            assert body["status"] == "degraded" and body["database"] == "unavailable", body
            assert body["since"] and isinstance(body["serving_catalog_version"], int), body
            assert httpx.get(base + "/healthz", timeout=10).status_code == 200
    deadline = time.monotonic() + 20
    while httpx.get(stack.mcp + "/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the MCP server did not say ready again"
        time.sleep(0.1)
    assert stack.get("/readyz").status_code == 200


def test_one_warning_per_outage_and_service_resumes_without_restart(stack):
    """Issue 9 point 25: one warning per outage (no spam), and everything works again after."""
    web_before = stack.log(stack.web, "web").count(OUTAGE_WARNING)
    mcp_before = stack.log(stack.mcp, "mcp").count(OUTAGE_WARNING)
    with stack.outage():
        for number in range(12):  # ~3 s: several failed checks, with backoff
            stack.get(f"/rest/work/items/{number}")
            stack.get(f"/rest/work/items/{number}", headers=ASYNC)
            if number % 4 == 0:
                call_tool(stack.mcp + "/mcp/work-tools", "flaky-read", {})
            time.sleep(0.25)
    # Recovered without a restart: a job runs, the admin and MCP tasks answer.
    submitted = stack.get("/rest/work/items/after", headers=ASYNC)
    assert submitted.status_code == 202, submitted.text
    assert stack.get(submitted.headers["Location"]).json()["status"] == "succeeded"
    assert stack.admin().status_code == 200
    assert not call_tool(stack.mcp + "/mcp/work-tools", "flaky-read", {}, tasks=True).is_error
    web_log, mcp_log = stack.log(stack.web, "web"), stack.log(stack.mcp, "mcp")
    assert web_log.count(OUTAGE_WARNING) == web_before + 1, web_log[-3000:]
    assert mcp_log.count(OUTAGE_WARNING) == mcp_before + 1, mcp_log[-3000:]
    assert RECOVERY_INFO in web_log and RECOVERY_INFO in mcp_log
    assert "Traceback" not in web_log and "Traceback" not in mcp_log
    assert "pw-outage-1" not in web_log + mcp_log


def test_a_process_started_during_an_outage_answers_503_until_the_database_returns(stack):
    """Issue 9 point 25: no catalog ever loaded (cold start): 503 database_unavailable, then OK."""
    with stack.outage():
        web = stack.registry.start_web()
        mcp = stack.registry.start_mcp()
        assert_database_problem(httpx.get(web + "/rest/work/items/1", timeout=30))
        ready = httpx.get(web + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["status"] == "not ready", ready.text
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "outage-test", "version": "1"},
            },
        }
        answer = httpx.post(
            mcp + "/mcp/work-tools",
            json=initialize,
            headers={"Accept": "application/json, text/event-stream"},
            timeout=30,
        )
        assert_database_problem(answer)
    deadline = time.monotonic() + 20
    while httpx.get(web + "/rest/work/items/1", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the new web process did not recover"
        time.sleep(0.1)
    assert not call_tool(mcp + "/mcp/work-tools", "flaky-read", {}).is_error


def test_an_import_during_an_outage_prints_one_line_not_a_traceback(stack):
    """Issue 9 point 25: imports need the database: the command says so in one line."""
    with stack.outage():
        result = stack.registry.manage(
            "import_capability",
            str(stack.registry.workdir / "outage-tests.yaml"),
            "--name",
            "outage-again",
            check=False,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "database is unreachable (OperationalError)" in lines[0], lines
    assert "Traceback" not in result.stderr + result.stdout
    assert str(stack.proxy.port) not in result.stderr


def test_a_worker_that_meets_the_outage_runs_the_job_when_the_database_returns(tmp_path):
    """Issue 9 point 25: a Celery worker that cannot read its job retries it (no failed task,
    no job left queued for the requeue), and runs it once the database is back."""
    environment = broker_environment(machine_redis())
    with registry_behind_a_proxy(tmp_path, mcp=False, **environment) as stack:
        submitted = stack.get("/rest/work/items/late", headers=ASYNC)  # no worker yet: queued
        assert submitted.status_code == 202, submitted.text
        worker_log = stack.registry.workdir / f"worker-{len(stack.registry.processes)}.log"
        with stack.outage():
            stack.registry.start_worker()
            deadline = time.monotonic() + 30
            # The worker took the message and met the outage (a warning, or a traceback).
            while "OperationalError" not in worker_log.read_text():
                assert time.monotonic() < deadline, worker_log.read_text()[-3000:]
                time.sleep(0.1)
        deadline = time.monotonic() + 30
        while (job := stack.get(submitted.headers["Location"]).json())["status"] != "succeeded":
            assert time.monotonic() < deadline, (job, worker_log.read_text()[-3000:])
            time.sleep(0.1)
        assert len(stack.upstream.calls("GET", "/items/late")) == 1
        assert job["attempts"] == 1
