"""MCP tasks: the ``io.modelcontextprotocol/tasks`` extension (protocol 2026-07-28), on jobs.

A ``tools/call`` from a client that declares the extension on the request is answered
with a task handle (``resultType: "task"``) instead of waiting for the upstream: the
call becomes the same Celery job a ``Prefer: respond-async`` REST call makes, with the
same retry rules (a tool is repeated only when hinted idempotent). ``tasks/get`` reads
the job, ``tasks/cancel`` cancels it while it is queued, ``tasks/update`` acknowledges
(registry tools never ask for input).

The task's ``result`` is exactly the ``CallToolResult`` the synchronous call returns:
an upstream error status, or a registry refusal, is a completed task whose result has
``isError``; ``failed`` is kept for JSON-RPC errors (the tool is no longer served).

Only the caller that created a task can read it: as for REST jobs, the caller is the
client the registry admitted (its key or token, ``jobs.access.caller_from``), else the keyed
hash of the credential the expose authenticates with (its API key, else the HTTP
``Authorization`` header). Arguments are checked before any task is created; the job
stores them resolved (``runtime.tool_arguments``), as the synchronous call runs on
them. The SDK (2.3) delivers extension result shapes only on 2026-07-28 connections
and sieves them out of 2025-11-25 ones, so tasks exist only there; ``REGISTRY_MCP_TASKS
= off`` turns them off.

While the database is unreachable a call that would become a task answers an
``isError`` result with the 503 problem (``database_unavailable``), and ``tasks/*`` a
JSON-RPC error naming the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio
import mcp_types as types
from django.conf import settings
from mcp.server.mcpserver import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from capabilities_app.core import database
from capabilities_app.core.errors import DatabaseUnavailable, JobNotFound, QueueUnavailable
from capabilities_app.jobs import access as job_access
from capabilities_app.jobs import submit as jobs
from capabilities_app.mcp.results import refusal_of, stored_refusal, tool_result, wire
from capabilities_app.runtime.callers import tool_arguments
from capabilities_app.runtime.catalog import Operation
from capabilities_app.store.models import Job

EXTENSION = "io.modelcontextprotocol/tasks"


class TaskParams(types.RequestParams):
    task_id: str


class UpdateTaskParams(TaskParams):
    input_responses: dict[str, Any] | None = None


def enabled() -> bool:
    return settings.REGISTRY_MCP_TASKS == "declared"


def declared(ctx: Any) -> bool:
    """Whether this request's client declared the tasks extension."""
    capabilities = getattr(ctx.session, "client_capabilities", None)
    extensions = getattr(capabilities, "extensions", None) or {}
    return EXTENSION in extensions


def wanted(ctx: Any) -> bool:
    """Whether to answer this ``tools/call`` with a task (the server decides, per request)."""
    return enabled() and ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and declared(ctx)


def credentials(ctx: Any) -> tuple[Mapping[str, str], Mapping[str, str]]:
    """The HTTP request's headers (case-insensitive) and query; nothing over stdio."""
    request = getattr(ctx, "request", None)
    if request is None:
        return {}, {}
    return request.headers, request.query_params


def task_of(job: Job) -> dict[str, Any]:
    """The job as a ``DetailedTask`` (what ``tasks/get`` answers)."""
    task: dict[str, Any] = {
        "taskId": str(job.pk),
        "createdAt": job.created_at.isoformat(),
        "lastUpdatedAt": job.updated_at.isoformat(),
        "ttlMs": settings.REGISTRY_JOB_RESULT_TTL * 1000,
        "pollIntervalMs": settings.REGISTRY_MCP_TASK_POLL_MS,
    }
    error = job.error or {}
    if job.status == Job.Status.QUEUED:
        waiting = "waiting to retry" if job.attempts else "queued"
        task.update(status="working", statusMessage=f"{waiting} (attempts: {job.attempts})")
    elif job.status == Job.Status.RUNNING:
        task.update(status="working", statusMessage=f"running (attempt {job.attempts})")
    elif job.status == Job.Status.CANCELLED:
        task.update(status="cancelled", statusMessage="cancelled before it ran")
    elif job.status == Job.Status.SUCCEEDED:
        task.update(status="completed", result=wire(tool_result(job.result, False)))
    elif error.get("code") == "route_not_found":
        # The synchronous call would have been a JSON-RPC error (unknown tool).
        message = f"unknown tool: {job.target}"
        task.update(
            status="failed",
            statusMessage=message,
            error={"code": types.INVALID_PARAMS, "message": message},
        )
    elif job.upstream_status is not None and error.get("code") == "upstream_error":
        task.update(status="completed", result=wire(tool_result(job.result, True)))
    else:  # a registry refusal: the synchronous call answers it as an isError result
        result = stored_refusal(error)
        task.update(status="completed", statusMessage=error.get("detail"), result=wire(result))
    return task


async def create(
    ctx: Any,
    namespace: str,
    operation: Operation,
    arguments: dict,
    check: Callable[[], types.CallToolResult | None] | None = None,
) -> dict:
    """Run the call as a job; the ``CreateTaskResult`` (returned once the job is stored).

    ``check`` runs first, in the same worker thread (the call's rate limit, its
    arguments): a refusal it answers is the call's answer, and no job is made.
    """
    headers, query = credentials(ctx)

    def submit() -> dict:  # in a worker thread: the catalog and the job table are sync
        refused = check() if check is not None else None
        if refused is not None:
            return wire(refused)
        submission = jobs.Submission(
            kind=Job.Kind.TOOL,
            namespace=namespace,
            target=operation.name,
            method="",
            capability=operation.capability,
            arguments=tool_arguments(operation, arguments),
            caller=job_access.caller_from(Job.Kind.TOOL, namespace, headers, query),
        )
        try:
            with database.session():  # this thread's connection checked, a dead one replaced
                job, _created = jobs.submit(submission)
        except (QueueUnavailable, DatabaseUnavailable) as error:
            return wire(refusal_of(error))
        return {"resultType": "task", **task_of(job)}

    return await anyio.to_thread.run_sync(submit)


def _require(ctx: Any) -> None:
    """Tasks methods exist on 2026-07-28 only, for clients that declare the extension."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS or not enabled():
        raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data=ctx.method)
    require_client_extension(ctx, EXTENSION)  # -32021 with requiredCapabilities


def _job(namespace: str, task_id: str, request: tuple) -> Job:
    try:
        with database.session():
            job = job_access.get_job(task_id, *request)
    except JobNotFound:
        job = None
    except DatabaseUnavailable as error:  # the cause, not a generic internal error
        raise MCPError(code=types.INTERNAL_ERROR, message=error.detail) from error
    if job is None or job.kind != Job.Kind.TOOL or job.namespace != namespace:
        raise MCPError(code=types.INVALID_PARAMS, message="Failed to retrieve task: Task not found")
    return job


def handlers(namespace: str) -> dict[str, tuple[type, Any]]:
    """The extension's request methods for one expose namespace."""

    async def get(ctx: Any, params: TaskParams) -> dict:
        _require(ctx)
        job = await anyio.to_thread.run_sync(_job, namespace, params.task_id, credentials(ctx))
        return task_of(job)

    async def cancel(ctx: Any, params: TaskParams) -> dict:
        _require(ctx)

        def run() -> None:
            job = _job(namespace, params.task_id, credentials(ctx))
            # Cooperative (the spec): a queued job is cancelled, a running one finishes.
            job_access.cancel_queued(Job.objects.filter(pk=job.pk))

        await anyio.to_thread.run_sync(run)
        return {}

    async def update(ctx: Any, params: UpdateTaskParams) -> dict:
        _require(ctx)
        # Registry tools never ask for input: any response is for no outstanding request.
        await anyio.to_thread.run_sync(_job, namespace, params.task_id, credentials(ctx))
        return {}

    return {
        "tasks/get": (TaskParams, get),
        "tasks/cancel": (TaskParams, cancel),
        "tasks/update": (UpdateTaskParams, update),
    }
