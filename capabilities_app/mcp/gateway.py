"""Every MCP expose over streamable HTTP, at ``/mcp/<namespace>``, in one ASGI app.

A namespace's SDK server and session manager are created on its first request (an
import adds namespaces while the process runs) and kept; a request for a namespace
that is not served gets 404. DNS-rebinding protection (the SDK's transport security:
Host and Origin checked against ``REGISTRY_MCP_ALLOWED_HOSTS`` and
``REGISTRY_MCP_ALLOWED_ORIGINS``, ``host:*`` for any port) applies to every request.
In stateless mode every POST is self-contained (no session id, no sticky sessions
needed behind a load balancer); otherwise sessions live in the process and hear
``notifications/*/list_changed`` when the catalog changes.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import logging
import re
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

import anyio
from anyio.abc import TaskGroup
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.requests import Request

from capabilities_app.access import admission
from capabilities_app.access import exposes as access
from capabilities_app.access.clients import Client
from capabilities_app.access.keytable import NotInMemory
from capabilities_app.core import database
from capabilities_app.core.errors import DatabaseUnavailable, RegistryError, RouteNotFound
from capabilities_app.mcp import threads
from capabilities_app.mcp.answers import send_body, send_problem
from capabilities_app.mcp.envelope import as_bytes, invalid_request
from capabilities_app.mcp.probes import Probes
from capabilities_app.mcp.server import CLIENT, RegistryServer, admitted, current_catalog
from capabilities_app.runtime.catalog import McpServer

logger = logging.getLogger(__name__)
# /mcp/<ns>; /mcp/<ns>/mcp for clients that want a path ending in /mcp (the MCP Inspector).
_PATH = re.compile(r"^/mcp/([^/]+)(?:/mcp)?/?$")


@dataclass
class _Entry:
    server: RegistryServer
    manager: StreamableHTTPSessionManager
    app: StreamableHTTPASGIApp


class Gateway:
    """The ASGI application of ``run_mcp_server --transport http``."""

    def __init__(
        self,
        *,
        namespaces: set[str] | None,
        stateless: bool,
        allowed_hosts: list[str],
        allowed_origins: list[str],
        check_seconds: float,
    ) -> None:
        self.namespaces = namespaces
        self.stateless = stateless
        self.security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
        )
        self.security_check = TransportSecurityMiddleware(self.security)
        self.check_seconds = check_seconds
        self.entries: dict[str, _Entry] = {}
        self.task_group: TaskGroup | None = None
        self.lock = anyio.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        found = _PATH.match(path)
        namespace = found.group(1) if found else None
        if (
            namespace is None
            and path.rstrip("/") == "/mcp"
            and self.namespaces
            and len(self.namespaces) == 1
        ):
            namespace = next(iter(self.namespaces))  # one namespace served: also at /mcp
        if namespace is None or (self.namespaces is not None and namespace not in self.namespaces):
            await self.not_found(send, f"no MCP server is served at {path} (try /mcp/<namespace>)")
            return
        served = (await current_catalog()).mcp.get(namespace)
        if served is None:
            await self.not_found(send, f"no MCP expose {namespace!r} is served")
            return
        client = None
        is_post = scope.get("method") == "POST"
        # DNS-rebinding protection first (the SDK answers what it refuses); then who calls.
        if await self.security_check.validate_request(Request(scope), is_post=is_post) is None:
            try:
                client = await self.admit(namespace, served, scope)
            except RegistryError as refusal:
                await self.problem(send, refusal)
                return
            if is_post:
                body, receive = await _buffered(scope, receive)
                if body is not None and await self.invalid_envelope(body, send):
                    return
        entry = await self.entry(namespace)
        token = admitted.set(client)
        try:
            await entry.app(scope, receive, send)
        finally:
            admitted.reset(token)

    async def admit(
        self, namespace: str, served: McpServer, scope: dict[str, Any]
    ) -> Client | None:
        """Who calls, before the MCP transport sees the request (docs/access.md, MCP).

        The registry's check first (a client key or an access token, and a grant in the
        expose's capability: 401 and 403 as HTTP problems), then the expose's own
        authentication. The client (None: not restricted) is left in the scope's
        ``state``, where the handlers read it (``ctx.request``). A warm request with a
        key is answered on the event loop, from memory; anything that needs I/O (a key
        table to rebuild, a last use to record, a token) runs in a worker thread.
        """
        headers = _headers(scope)
        door = admission.Door("mcp", namespace, served.capability, served.authentication)
        try:
            client = admission.identify_in_memory(door, headers)
        except NotInMemory:
            client = await threads.run_sync(_identify, door, headers)
        admission.authorize_capability(client, door)
        if served.authentication and served.binds is not None:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            access.check(served.authentication, served.binds, headers, query)
        scope.setdefault("state", {})[CLIENT] = client
        return client

    async def invalid_envelope(self, body: bytes, send: Any) -> bool:
        """Answer -32600 to a message that is not JSON-RPC 2.0 (the SDK says -32602).

        Only for a request the SDK's own checks (Host, Origin, Content-Type) let through
        (checked by the caller), so DNS-rebinding protection answers first, as before; a
        body that is not JSON is the SDK's to answer (-32700).
        """
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            return False
        answer = invalid_request(message)
        if answer is None:
            return False
        await send_body(send, 400, b"application/json", as_bytes(answer))
        return True

    async def problem(self, send: Any, error: RegistryError) -> None:
        await send_problem(send, error)

    async def not_found(self, send: Any, detail: str) -> None:
        await self.problem(send, RouteNotFound(detail))

    async def entry(self, namespace: str) -> _Entry:
        entry = self.entries.get(namespace)
        if entry is not None:
            return entry
        async with self.lock:
            if namespace in self.entries:
                return self.entries[namespace]
            catalog = await current_catalog()
            served = catalog.mcp.get(namespace)
            server = RegistryServer(namespace, served.description if served else None)
            manager = StreamableHTTPSessionManager(
                app=server,
                stateless=self.stateless,
                # Plain JSON answers to POSTs: an SSE stream per call costs the client its
                # keep-alive connection. Notifications use the session's GET stream.
                json_response=True,
                security_settings=self.security,
            )
            if self.task_group is None:
                raise RuntimeError("the gateway serves requests only inside its ASGI lifespan")
            await self.task_group.start(_run_manager, manager)
            entry = _Entry(server, manager, StreamableHTTPASGIApp(manager))
            self.entries[namespace] = entry
            return entry

    async def lifespan(self, receive: Any, send: Any) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        async with anyio.create_task_group() as group:
            self.task_group = group
            group.start_soon(self.watch)
            await send({"type": "lifespan.startup.complete"})
            message = await receive()  # lifespan.shutdown
            group.cancel_scope.cancel()
        await send({"type": "lifespan.shutdown.complete"})

    async def watch(self) -> None:
        """Follow the catalog and notify live sessions of every namespace that changed."""
        previous = None
        while True:
            await anyio.sleep(self.check_seconds)
            try:
                catalog = await current_catalog()
            except DatabaseUnavailable:  # never loaded, database away: logged once (database)
                continue
            except Exception:
                logger.exception("MCP gateway: reading the catalog failed")
                continue
            if previous is None or catalog.version != previous.version:
                if previous is not None:
                    for namespace, entry in list(self.entries.items()):
                        await entry.server.notify_changes(
                            previous.mcp.get(namespace), catalog.mcp.get(namespace)
                        )
                settle_memory()
            previous = catalog


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name; of a repeated one the first, as the SDK's
    ``request.headers`` reads it (jobs identify a task's caller from those)."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _identify(door: admission.Door, headers: dict[str, str]) -> Client | None:
    """``admission.identify`` in a worker thread, with a checked database connection."""
    with database.session():
        return admission.identify(door, headers)


async def _buffered(scope: dict[str, Any], receive: Any) -> tuple[bytes | None, Any]:
    """A POST's whole body, and a ``receive`` that gives it again to the SDK's app.

    The body is None (not judged here) above the SDK's own body limit, which then answers
    413 as before; what was read is given back in any case.
    """
    limit = DEFAULT_MAX_REQUEST_BODY_SIZE
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return None, receive
            except ValueError:
                return None, receive
    received: deque[dict[str, Any]] = deque()
    body = bytearray()
    complete = False
    while not complete and len(body) <= limit:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            break  # the client went away: the SDK hears it too
        body.extend(message.get("body", b""))
        complete = not message.get("more_body", False)

    async def replay() -> dict[str, Any]:
        return received.popleft() if received else await receive()

    return (bytes(body) if complete and len(body) <= limit else None), replay


def settle_memory() -> None:
    """Move what the process holds for good (Django, the catalog) out of the collector's way.

    The MCP process keeps ~150k long-lived objects; full collections over them cost
    ~90 ms each under allocation-heavy requests (1,000-tool listings). Collected first,
    so the previous catalog is freed, then frozen.
    """
    gc.collect()
    gc.freeze()


async def _run_manager(
    manager: StreamableHTTPSessionManager, *, task_status=anyio.TASK_STATUS_IGNORED
) -> None:
    async with manager.run():
        task_status.started()
        await anyio.sleep_forever()


def serve_http(
    *,
    host: str,
    port: int,
    namespaces: set[str] | None,
    stateless: bool,
    allowed_hosts: list[str],
    allowed_origins: list[str],
    check_seconds: float,
    log_level: str = "info",
) -> None:
    """Serve the gateway with uvicorn until interrupted (uvloop and httptools when
    installed: ``uvicorn[standard]``, docs/mcp-surface.md)."""
    import uvicorn

    gateway = Gateway(
        namespaces=namespaces,
        stateless=stateless,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        check_seconds=check_seconds,
    )
    loop, http = server_implementation()
    app = Probes(gateway)  # /healthz, /readyz, and a 503 for a database outage
    uvicorn.run(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        loop=loop,
        http=http,
    )


def server_implementation() -> tuple[Literal["uvloop", "asyncio"], Literal["httptools", "h11"]]:
    """uvicorn's event loop and HTTP parser: uvloop and httptools when installed (the
    ``uvicorn[standard]`` extra, a dependency), else asyncio and h11 (said once)."""
    loop: Literal["uvloop", "asyncio"] = (
        "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    )
    http: Literal["httptools", "h11"] = (
        "httptools" if importlib.util.find_spec("httptools") else "h11"
    )
    if (loop, http) != ("uvloop", "httptools"):
        logger.warning(
            "MCP server: uvloop or httptools is missing (install uvicorn[standard]); "
            "serving with loop=%s, http=%s",
            loop,
            http,
        )
    return loop, http
