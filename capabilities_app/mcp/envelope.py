"""JSON-RPC envelopes the MCP surface refuses before the SDK sees them.

The SDK validates each incoming message against one union of the four JSON-RPC message
shapes. A message whose ``"jsonrpc"`` member is not exactly ``"2.0"`` (or is missing)
fails that union as a whole: over streamable HTTP the SDK answers -32602 Invalid params
without the request's id, over stdio it drops the message without an answer. JSON-RPC
2.0 (§5.1) says -32600 Invalid Request, with the request's id when it can be read and
null otherwise; and -32700 Parse error for a line that is not JSON.

This module only decides (the gateway answers over HTTP, ``stdio`` over its stream).
Arrays (batches, which MCP no longer has) and envelopes that say ``"2.0"`` are left to
the SDK. Must not import Django.
"""

from __future__ import annotations

import json
from typing import Any, Final

from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError

VERSION: Final = "2.0"


def _request_id(message: dict[str, Any]) -> str | int | None:
    """The message's id when it is a valid one (a string or an integer), else None."""
    found = message.get("id")
    if isinstance(found, str) or (isinstance(found, int) and not isinstance(found, bool)):
        return found
    return None


def invalid_request(message: Any) -> JSONRPCError | None:
    """The -32600 answer a decoded message gets, or None when its envelope is the SDK's to judge."""
    if isinstance(message, list):
        return None
    if isinstance(message, dict):
        version = message.get("jsonrpc")
        if isinstance(version, str) and version == VERSION:
            return None
        detail = (
            'Invalid Request: the "jsonrpc" member is missing; it must be "2.0"'
            if version is None
            else f'Invalid Request: "jsonrpc" must be "2.0", not {json.dumps(version)[:40]}'
        )
        return JSONRPCError(
            jsonrpc=VERSION,
            id=_request_id(message),
            error=ErrorData(code=INVALID_REQUEST, message=detail),
        )
    return JSONRPCError(
        jsonrpc=VERSION,
        id=None,
        error=ErrorData(code=INVALID_REQUEST, message="Invalid Request: not a JSON-RPC object"),
    )


def refusal(text: str | bytes) -> JSONRPCError | None:
    """The answer one received message gets before the SDK: -32700 or -32600, or None."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return JSONRPCError(
            jsonrpc=VERSION, id=None, error=ErrorData(code=PARSE_ERROR, message="Parse error")
        )
    return invalid_request(message)


def as_bytes(answer: JSONRPCError) -> bytes:
    return answer.model_dump_json(by_alias=True, exclude_unset=True).encode()
