"""The MCP server's front door: ``/healthz`` and ``/readyz``, the protected-resource
metadata, and a 503 for an outage.

An ASGI app in front of the gateway (``gateway.serve_http``). ``/healthz`` and
``/readyz`` answer as the web app's do (``health.readiness``), without the gateway's
Host and Origin checks (probes come from the orchestrator, by address) and without
authentication; so does ``/.well-known/oauth-protected-resource/mcp/<namespace>``
(``metadata``: public, read before a client has a credential). Everything else goes to
the gateway; a process that never loaded a catalog while the database is unreachable
answers 503 problem+json ``database_unavailable`` instead of an ASGI 500.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

from capabilities_app.core.errors import DatabaseUnavailable
from capabilities_app.mcp import metadata
from capabilities_app.mcp.answers import send_body, send_problem
from capabilities_app.runtime import health

JSON = b"application/json"
NO_STORE = ((b"cache-control", b"no-store"),)


class Probes:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") in ("/healthz", "/readyz"):
            if scope["path"] == "/healthz":
                await _answer(send, 200, JSON, health.LIVENESS)
            else:
                status, body = await anyio.to_thread.run_sync(health.readiness)
                await _answer(send, status, JSON, body)
            return
        app = self.app
        if scope["type"] == "http" and metadata.is_metadata_path(scope.get("path", "")):
            namespaces = getattr(self.app, "namespaces", None)  # the gateway's --namespace

            async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
                await metadata.serve(scope, send, namespaces)

        started = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, tracked)
        except DatabaseUnavailable as error:
            if started or scope["type"] != "http":
                raise
            await send_problem(send, error, scope["path"], NO_STORE)


async def _answer(send: Any, status: int, content_type: bytes, body: dict[str, Any]) -> None:
    await send_body(send, status, content_type, json.dumps(body).encode(), NO_STORE)
