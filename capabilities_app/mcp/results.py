"""What a tool call answers: the ``CallToolResult`` of a mapped output or of a refusal.

RUNTIME-CONTRACT §6: ``structuredContent`` is the mapped output when it is a JSON
object, ``content`` holds it as JSON text; ``isError`` when the upstream answered 400 or
more or the registry refused the call (the problem detail is the text). Synchronous
calls and tasks (``tasks.py``) answer the same results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import mcp_types as types

from capabilities_app.core.errors import RegistryError, problem


def tool_result(data: Any, is_error: bool) -> types.CallToolResult:
    """The ``CallToolResult`` of a tool's mapped output (shared with synchronous calls)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=data if isinstance(data, dict) and not is_error else None,
        is_error=is_error,
    )


def problem_of(error: RegistryError) -> dict[str, Any]:
    """The problem document of a registry refusal; a rate limit's says when to retry
    (in its detail, and as ``retry_after`` seconds)."""
    detail = error.detail
    retry_after = error.retry_after
    if retry_after is not None and "retry" not in detail.lower():
        detail = f"{detail} (retry after {retry_after} s)"
    body = {**error.problem(), "detail": detail}
    if retry_after is not None:
        body["retry_after"] = retry_after
    return body


def refusal_of(error: RegistryError) -> types.CallToolResult:
    """A registry refusal as a tool answers it: an ``isError`` result with the problem."""
    return _error_result(problem_of(error))


def stored_refusal(error: Mapping[str, Any]) -> types.CallToolResult:
    """A job's stored problem as the refusal the synchronous call would have answered."""
    return _error_result(
        problem(
            int(error.get("status") or 500),
            str(error.get("code") or "job_failed"),
            str(error.get("title") or "Job failed"),
            str(error.get("detail") or ""),
        )
    )


def _error_result(body: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(body))], is_error=True
    )


def wire(result: types.CallToolResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)
