"""The client half of the MCP tasks extension (``io.modelcontextprotocol/tasks``), built
on the SDK's client extension surface (``ClientExtension`` + ``ResultClaim``).

The SDK (2.3) ships no tasks client; this is the smallest faithful one: a ``task``
result on ``tools/call`` is resolved by polling ``tasks/get`` at the task's
``pollIntervalMs`` until it is terminal, so ``client.call_tool`` returns the final
``CallToolResult`` as if the call had been synchronous. Every handle and poll is kept
for the tests to inspect.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import anyio
import mcp_types as types
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from pydantic import ConfigDict, TypeAdapter

EXTENSION = "io.modelcontextprotocol/tasks"
TERMINAL = {"completed", "failed", "cancelled"}
ANY_RESULT = TypeAdapter(dict[str, Any])


class TaskIdParams(types.RequestParams):
    task_id: str


class TaskRequest(types.Request[TaskIdParams, str]):
    method: str
    params: TaskIdParams
    name_param: ClassVar[str | None] = "taskId"  # the spec's Mcp-Name routing header


class Task(types.Result):
    model_config = ConfigDict(extra="allow")
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class CreateTaskResult(Task):
    result_type: Literal["task"] = "task"


class TaskFailed(RuntimeError):
    def __init__(self, task: Task) -> None:
        super().__init__(f"task {task.task_id} {task.status}: {task.error or task.status_message}")
        self.task = task


async def request(session: Any, method: str, task_id: str) -> dict[str, Any]:
    """Send ``tasks/get``, ``tasks/cancel`` or ``tasks/update`` through the SDK session."""
    return await session.send_request(
        TaskRequest(method=method, params=TaskIdParams(task_id=task_id)), ANY_RESULT
    )


class TasksExtension(ClientExtension):
    identifier = EXTENSION

    def __init__(self) -> None:
        self.created: list[CreateTaskResult] = []
        self.polls: list[Task] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreateTaskResult, resolve=self.resolve)]

    async def get(self, session: Any, task_id: str) -> Task:
        answer = await session.send_request(
            TaskRequest(method="tasks/get", params=TaskIdParams(task_id=task_id)), Task
        )
        self.polls.append(answer)
        return answer

    async def resolve(self, created: CreateTaskResult, ctx: ClaimContext) -> types.CallToolResult:
        self.created.append(created)
        task: Task = created
        while task.status not in TERMINAL:
            await anyio.sleep((task.poll_interval_ms or 100) / 1000)
            task = await self.get(ctx.session, created.task_id)
        if task.status != "completed":
            raise TaskFailed(task)
        return types.CallToolResult.model_validate(task.result)
