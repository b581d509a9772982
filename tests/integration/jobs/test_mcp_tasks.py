"""MCP tasks (the ``io.modelcontextprotocol/tasks`` extension, protocol 2026-07-28):
a ``tools/call`` from a client that declares the extension runs as the same Celery job
as an async REST call; ``tasks/get`` reads it. Eager and on a real worker alike, with
``run_mcp_server`` as its own process and the SDK's client (plus the extension's
client half from ``tests/support/mcp_tasks.py``, built on the SDK's claim surface).
"""

from __future__ import annotations

import json
import time

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.integration.mcp.conftest import run
from tests.support.mcp_tasks import EXTENSION, TasksExtension, request
from tests.support.upstream import Answer

pytestmark = pytest.mark.processes  # see tests/conftest.py

MODERN = "2026-07-28"
CALLER_A = "caller-a"  # bearer values that tell two test callers apart


@pytest.fixture(scope="module")
def tools_url(job_stack) -> str:
    return job_stack.registry.start_mcp() + "/mcp/work-tools"


async def _connect(url, use, *, extension=None, token=CALLER_A, mode=MODERN):
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30)
    extensions = [extension] if extension is not None else None
    async with (
        http,
        Client(
            streamable_http_client(url, http_client=http), mode=mode, extensions=extensions
        ) as client,
    ):
        return await use(client)


def call(url, tool, arguments, **options):
    async def use(client):
        return await client.call_tool(tool, arguments)

    return run(_connect(url, use, **options))


def shown(result) -> dict:
    """What a client shows of a tool result (not the transport's ``_meta`` stamp)."""
    return result.model_dump(by_alias=True, exclude_none=True, exclude={"meta"})


def job_row(stack, job_id: str) -> dict:
    code = (
        "import json; from capabilities_app.store.models import Job; "
        f"j = Job.objects.get(pk='{job_id}'); "
        "print(json.dumps([j.kind, j.namespace, j.target, j.status, j.attempts, j.caller]))"
    )
    kind, namespace, target, status, attempts, caller = json.loads(stack.shell(code))
    return {
        "kind": kind,
        "namespace": namespace,
        "target": target,
        "status": status,
        "attempts": attempts,
        "caller": caller,
    }


def job_count(stack) -> int:
    code = "from capabilities_app.store.models import Job; print(Job.objects.count())"
    return int(stack.shell(code))


class TestTaskCalls:
    def test_a_declaring_client_gets_a_task_whose_result_is_the_synchronous_one(
        self, stack, tools_url
    ) -> None:
        stack.upstream.answer("GET", "/flaky", Answer(200, {"ok": 1}), Answer(200, {"ok": 1}))
        synchronous = call(tools_url, "flaky-read", {})

        tasks = TasksExtension()
        result = call(tools_url, "flaky-read", {}, extension=tasks)

        assert shown(result) == shown(synchronous)
        assert (result.structured_content, result.is_error) == ({"ok": 1}, False)
        (created,) = tasks.created
        assert created.status in ("working", "completed")
        assert created.poll_interval_ms == 500
        assert created.ttl_ms == 24 * 3600 * 1000
        row = job_row(stack, created.task_id)
        assert row["kind"] == "tool"
        assert (row["namespace"], row["target"], row["status"]) == (
            "work-tools",
            "flaky-read",
            "succeeded",
        )
        assert row["caller"]  # the caller's Authorization, hashed; never the token
        assert CALLER_A not in row["caller"]
        assert len(stack.upstream.calls("GET", "/flaky")) == 2

    def test_the_extension_is_advertised_on_discovery(self, stack, tools_url) -> None:
        async def use(client):
            return client.server_capabilities

        capabilities = run(_connect(tools_url, use, extension=TasksExtension(), mode="auto"))
        assert EXTENSION in (capabilities.extensions or {})

    def test_a_client_that_does_not_declare_it_is_answered_at_once(self, stack, tools_url) -> None:
        before = job_count(stack)
        stack.upstream.answer("GET", "/flaky", Answer(200, {"ok": 2}))

        result = call(tools_url, "flaky-read", {})

        assert result.structured_content == {"ok": 2}
        assert job_count(stack) == before

    def test_a_2025_11_25_session_gets_no_task(self, stack, tools_url) -> None:
        before = job_count(stack)
        stack.upstream.answer("GET", "/flaky", Answer(200, {"ok": 3}))
        tasks = TasksExtension()

        result = call(tools_url, "flaky-read", {}, extension=tasks, mode="legacy")

        assert result.structured_content == {"ok": 3}
        assert tasks.created == []
        assert job_count(stack) == before

    def test_arguments_are_checked_before_a_task_exists(self, stack, tools_url) -> None:
        before = job_count(stack)
        tasks = TasksExtension()

        result = call(tools_url, "flaky-write", {"body": "not an object"}, extension=tasks)

        assert result.is_error
        assert json.loads(result.content[0].text)["code"] == "invalid_arguments"
        assert tasks.created == []
        assert job_count(stack) == before
        assert stack.upstream.received == []


class TestTaskRetries:
    def test_an_idempotent_tool_is_retried_until_it_succeeds(self, stack, tools_url) -> None:
        stack.upstream.answer(
            "GET", "/flaky", Answer(503), Answer(503), Answer(200, {"ok": "third"})
        )
        tasks = TasksExtension()

        result = call(tools_url, "flaky-read", {}, extension=tasks)

        assert result.structured_content == {"ok": "third"}
        assert job_row(stack, tasks.created[0].task_id)["attempts"] == 3
        assert len(stack.upstream.calls("GET", "/flaky")) == 3

    def test_a_tool_not_hinted_idempotent_is_tried_once(self, stack, tools_url) -> None:
        stack.upstream.answer("POST", "/flaky", Answer(503, {"busy": True}), Answer(200))
        synchronous_shape = {"busy": True}
        tasks = TasksExtension()

        result = call(tools_url, "flaky-write", {"body": {"n": 1}}, extension=tasks)

        # An upstream error is a completed task whose result is the isError result.
        assert result.is_error
        assert json.loads(result.content[0].text) == synchronous_shape
        row = job_row(stack, tasks.created[0].task_id)
        assert (row["status"], row["attempts"]) == ("failed", 1)
        assert len(stack.upstream.calls("POST", "/flaky")) == 1


class TestTaskMethods:
    def created_task(self, stack, tools_url, token=CALLER_A) -> str:
        stack.upstream.answer("GET", "/flaky", Answer(200, {"ok": 1}))
        tasks = TasksExtension()
        call(tools_url, "flaky-read", {}, extension=tasks, token=token)
        return tasks.created[0].task_id

    def task_request(self, url, method, task_id, *, extension=True, token=CALLER_A):
        """The answer to one tasks/* request: its result, or the MCPError it raised."""

        async def use(client):
            try:
                return await request(client.session, method, task_id)
            except MCPError as error:
                return error

        extension = TasksExtension() if extension else None
        return run(_connect(url, use, extension=extension, token=token))

    def refused(self, *args, **kwargs) -> MCPError:
        answer = self.task_request(*args, **kwargs)
        assert isinstance(answer, MCPError), answer
        return answer

    def test_tasks_get_reads_a_finished_task(self, stack, tools_url) -> None:
        task_id = self.created_task(stack, tools_url)

        task = self.task_request(tools_url, "tasks/get", task_id)

        assert task["taskId"] == task_id
        assert task["status"] == "completed"
        assert task["resultType"] == "complete"
        assert task["result"]["structuredContent"] == {"ok": 1}

    def test_another_caller_cannot_read_it(self, stack, tools_url) -> None:
        task_id = self.created_task(stack, tools_url, token=CALLER_A)

        refused = self.refused(tools_url, "tasks/get", task_id, token="caller-b")

        assert refused.error.code == -32602
        assert "not found" in refused.error.message

    def test_an_unknown_task_is_invalid_params(self, stack, tools_url) -> None:
        for task_id in ("9b2f5c1e-0000-4000-8000-000000000000", "not-a-uuid"):
            assert self.refused(tools_url, "tasks/get", task_id).error.code == -32602

    def test_a_client_without_the_extension_is_told_what_it_lacks(self, stack, tools_url) -> None:
        task_id = self.created_task(stack, tools_url)

        refused = self.refused(tools_url, "tasks/get", task_id, extension=False)

        assert refused.error.code == -32021
        assert refused.error.data == {"requiredCapabilities": {"extensions": {EXTENSION: {}}}}

    def test_cancel_and_update_acknowledge_a_finished_task_which_stays_completed(
        self, stack, tools_url
    ) -> None:
        task_id = self.created_task(stack, tools_url)

        assert self.task_request(tools_url, "tasks/cancel", task_id)["resultType"] == "complete"
        assert self.task_request(tools_url, "tasks/update", task_id)["resultType"] == "complete"
        assert self.task_request(tools_url, "tasks/get", task_id)["status"] == "completed"

    # Eager jobs run inside the call, so only a worker's task is ever seen queued.
    @pytest.mark.parametrize("job_stack", ["worker"], indirect=True)
    def test_a_queued_task_is_cancelled(self, stack, tools_url) -> None:
        # The first attempt is answered 503 with Retry-After: the job waits, queued.
        stack.upstream.answer(
            "GET", "/flaky", Answer(503, headers={"Retry-After": "3"}), Answer(200)
        )

        async def use(client):
            task = await client.session.call_tool("flaky-read", {}, allow_claimed=True)
            deadline = time.monotonic() + 10
            while True:
                seen = await request(client.session, "tasks/get", task.task_id)
                if seen["status"] == "working" and "retry" in seen.get("statusMessage", ""):
                    break
                assert time.monotonic() < deadline, seen
                await anyio.sleep(0.05)
            await request(client.session, "tasks/cancel", task.task_id)
            return await request(client.session, "tasks/get", task.task_id)

        task = run(_connect(tools_url, use, extension=TasksExtension()))

        assert task["status"] == "cancelled"
        time.sleep(3.5)  # past the retry time: nothing runs
        assert len(stack.upstream.calls("GET", "/flaky")) == 1
