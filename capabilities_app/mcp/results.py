"""What a tool call answers: the ``CallToolResult`` of a mapped output or of a refusal.

RUNTIME-CONTRACT §6: ``structuredContent`` is the mapped output when it is a JSON
object, ``content`` holds it as JSON text; ``isError`` when the upstream answered 400 or
more or the registry refused the call (the problem detail is the text). Synchronous
calls and tasks (``tasks.py``) answer the same results.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from ..api.problems import problem


def tool_result(data: Any, is_error: bool) -> types.CallToolResult:
    """The ``CallToolResult`` of a tool's mapped output (shared with synchronous calls)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=data if isinstance(data, dict) and not is_error else None,
        is_error=is_error,
    )


def refusal(status: int, code: str, title: str, detail: str) -> types.CallToolResult:
    body = problem(status, code, title, detail)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(body))], is_error=True
    )


def wire(result: types.CallToolResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)
