"""Plain HTTP answers of the MCP web app, outside the MCP protocol: a body, or a registry
error as problem+json with the headers it carries (``core.errors``).

The gateway's refusals, the protected-resource metadata and the probes answer here, so
a refusal over MCP's HTTP looks like the same refusal on the REST surface.

Must not import Django, httpx or the ``api`` package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from capabilities_app.core.errors import PROBLEM_JSON, RegistryError

__all__ = ["send_body", "send_problem"]

Header = tuple[bytes, bytes]


async def send_body(
    send: Any, status: int, content_type: bytes, payload: bytes, extra: Iterable[Header] = ()
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]
    headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def send_problem(
    send: Any, error: RegistryError, instance: str = "", extra: Iterable[Header] = ()
) -> None:
    headers = [*extra, *((k.lower().encode(), v.encode()) for k, v in error.headers().items())]
    payload = json.dumps(error.problem(instance)).encode()
    await send_body(send, error.status, PROBLEM_JSON.encode(), payload, headers)
