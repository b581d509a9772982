"""How a job reads as an MCP task (``tasks/get``), and when a call becomes one."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import mcp_types as types
import pytest
from django.utils import timezone

from capabilities_app.api.problems import problem
from capabilities_app.mcp import tasks
from capabilities_app.mcp.server import RegistryServer
from capabilities_app.store.models import Job

NOW = timezone.now()


def job(status: str, **fields) -> Job:
    return Job(
        kind="tool",
        namespace="work-tools",
        target="flaky-read",
        status=status,
        created_at=NOW,
        updated_at=NOW + timedelta(seconds=2),
        **fields,
    )


def context(version: str = "2026-07-28", extensions=None) -> SimpleNamespace:
    capabilities = types.ClientCapabilities(extensions=extensions)
    return SimpleNamespace(
        protocol_version=version,
        session=SimpleNamespace(client_capabilities=capabilities),
        request=None,
        method="tools/call",
    )


class TestTaskOfAJob:
    def test_the_common_fields(self) -> None:
        task = tasks.task_of(job("queued"))

        assert task["createdAt"] == NOW.isoformat()
        assert task["lastUpdatedAt"] == (NOW + timedelta(seconds=2)).isoformat()
        assert task["ttlMs"] == 86_400_000
        assert task["pollIntervalMs"] == 500

    @pytest.mark.parametrize(
        ("status", "attempts", "message"),
        [
            ("queued", 0, "queued (attempts: 0)"),
            ("queued", 1, "waiting to retry (attempts: 1)"),
            ("running", 2, "running (attempt 2)"),
        ],
    )
    def test_unfinished_jobs_are_working(self, status, attempts, message) -> None:
        task = tasks.task_of(job(status, attempts=attempts))

        assert (task["status"], task["statusMessage"]) == ("working", message)
        assert "result" not in task and "error" not in task

    def test_a_succeeded_job_carries_the_synchronous_result(self) -> None:
        task = tasks.task_of(job("succeeded", result={"ok": 1}))

        assert task["status"] == "completed"
        assert task["result"] == {
            "content": [{"type": "text", "text": '{"ok": 1}'}],
            "structuredContent": {"ok": 1},
            "isError": False,
            "resultType": "complete",
        }

    def test_an_upstream_error_is_a_completed_task_with_an_error_result(self) -> None:
        failed = job(
            "failed",
            result={"message": "no"},
            upstream_status=404,
            error=problem(404, "upstream_error", "Upstream error", "the upstream answered 404"),
        )

        task = tasks.task_of(failed)

        assert task["status"] == "completed"
        assert task["result"]["isError"] is True
        assert json.loads(task["result"]["content"][0]["text"]) == {"message": "no"}
        assert "structuredContent" not in task["result"]

    def test_a_registry_refusal_is_the_synchronous_refusal(self) -> None:
        error = problem(500, "job_interrupted", "Job interrupted", "the worker stopped")

        task = tasks.task_of(job("failed", error=error))

        assert task["status"] == "completed"
        assert task["statusMessage"] == "the worker stopped"
        assert task["result"]["isError"] is True
        assert json.loads(task["result"]["content"][0]["text"]) == error

    def test_a_tool_no_longer_served_is_a_failed_task(self) -> None:
        error = problem(404, "route_not_found", "No such route", "gone")

        task = tasks.task_of(job("failed", error=error))

        assert task["status"] == "failed"
        assert task["error"] == {"code": -32602, "message": "unknown tool: flaky-read"}

    def test_a_cancelled_job_is_a_cancelled_task(self) -> None:
        assert tasks.task_of(job("cancelled"))["status"] == "cancelled"


class TestWhenACallBecomesATask:
    def test_a_declaring_2026_client(self) -> None:
        assert tasks.wanted(context(extensions={tasks.EXTENSION: {}}))

    def test_not_without_the_declaration(self) -> None:
        assert not tasks.wanted(context())
        assert not tasks.wanted(context(extensions={"io.modelcontextprotocol/ui": {}}))

    def test_not_on_2025_11_25(self) -> None:
        assert not tasks.wanted(context("2025-11-25", extensions={tasks.EXTENSION: {}}))

    def test_not_when_turned_off(self, settings) -> None:
        settings.REGISTRY_MCP_TASKS = "off"

        assert not tasks.wanted(context(extensions={tasks.EXTENSION: {}}))
        assert tasks.EXTENSION not in RegistryServer("work-tools", None).extensions

    def test_advertised_when_on(self) -> None:
        assert RegistryServer("work-tools", None).extensions == {tasks.EXTENSION: {}}
