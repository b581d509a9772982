"""The read side of the MCP Registry API (issue 13 point 4), under ``/v0.1/``.

Per the reference (``openapi.yaml`` 2025-12-01 of modelcontextprotocol/registry):

- ``GET /v0.1/servers``: a ``ServerList`` (``servers``: ``{server, _meta}`` items;
  ``metadata``: ``count``, and ``nextCursor`` while more follow), by server name; query
  ``cursor``, ``limit`` (1 to 100, default 30), ``search`` (a substring of the name, any
  case), ``updated_since`` (RFC 3339: changed in the registry after it), ``version``
  (``latest``, or an exact version).
- ``GET /v0.1/servers/{serverName}/versions``: the server's versions (one: the registry
  keeps no older document), ``GET /v0.1/servers/{serverName}/versions/{version}`` one of
  them, ``latest`` the current one. The name's ``/`` comes URL-encoded (``%2F``) and
  arrives decoded.

Public, like the catalog: discovery documents naming where each server is and which
headers it needs, never a credential. Errors are problem+json with a stable code; the
404s carry the reference's ``error`` member too. Plain Django views (no DRF: nothing to
authenticate or negotiate); the documents come from ``store.serverjson``.

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from capabilities_app.api.problems import plain_problem_response
from capabilities_app.core.errors import (
    InvalidParameter,
    MethodNotAllowed,
    RegistryError,
    RouteNotFound,
    ServerNotFound,
)
from capabilities_app.store import serverjson

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "not_found",
    "server_list",
    "server_version",
    "server_versions",
]

DEFAULT_LIMIT = 30
MAX_LIMIT = 100
METHODS = ("GET", "HEAD")


def _answer(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    content = b"" if request.method == "HEAD" else json.dumps(body).encode()
    response = HttpResponse(content, content_type="application/json")
    response["Access-Control-Allow-Origin"] = "*"  # public; browser-based clients read it
    return response


def _problem(request: HttpRequest, error: RegistryError) -> HttpResponse:
    return plain_problem_response(error, request.path)


def _read_only(view: Callable[..., dict[str, Any]]) -> Callable[..., HttpResponse]:
    """GET and HEAD only; the registry's own errors answered as problems."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, **kwargs: str) -> HttpResponse:
        try:
            if request.method not in METHODS:
                raise MethodNotAllowed(
                    f"{request.method} is not allowed here; allowed: GET, HEAD", list(METHODS)
                )
            return _answer(request, view(request, **kwargs))
        except (InvalidParameter, MethodNotAllowed, ServerNotFound) as error:
            return _problem(request, error)

    return wrapped


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidParameter(f"limit is a whole number from 1 to {MAX_LIMIT}, not {raw!r}")
    return int(raw)


def _moment(raw: str) -> datetime:
    """An RFC 3339 date-time: a date, a time and an offset (``Z`` or ``±hh:mm``)."""
    # A "+" left unencoded in the query string arrives as a space.
    raw = re.sub(r" (\d\d:\d\d)$", r"+\1", raw)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "t" not in raw.lower():
        raise InvalidParameter(
            f"updated_since is an RFC 3339 date-time with an offset, such as "
            f"2025-08-07T13:15:04Z, not {raw!r}"
        )
    return moment


def _versions(entry: serverjson.ServerEntry) -> dict[str, Any]:
    return {"servers": [entry.response()], "metadata": {"count": 1}}


def _server(name: str) -> serverjson.ServerEntry:
    entry = serverjson.find_server(name)
    if entry is None:
        raise ServerNotFound(f"no MCP server named {name!r} is served here")
    return entry


@_read_only
def server_list(request: HttpRequest) -> dict[str, Any]:
    """``GET /v0.1/servers``: one page of servers."""
    query = request.GET
    limit = _limit(query.get("limit"))
    after = ""
    if query.get("cursor"):
        after = serverjson.decode_cursor(query["cursor"]) or ""
        if not after:
            raise InvalidParameter(
                "cursor is not one this registry gave: use metadata.nextCursor as it is"
            )
    since = _moment(query["updated_since"]) if query.get("updated_since") else None
    version = query.get("version", "")
    revision = None
    if version and version != "latest":
        revision = serverjson.revision_of(version)
        if revision is None:  # a version never given out: nothing has it
            return {"servers": [], "metadata": {"count": 0}}
    entries = serverjson.list_servers(
        search=query.get("search", ""),
        updated_since=since,
        revision=revision,
        after=after,
        limit=limit + 1,
    )
    page = entries[:limit]
    metadata: dict[str, Any] = {"count": len(page)}
    if len(entries) > limit:
        metadata["nextCursor"] = serverjson.encode_cursor(page[-1].name)
    return {"servers": [entry.response() for entry in page], "metadata": metadata}


@_read_only
def server_versions(request: HttpRequest, name: str) -> dict[str, Any]:
    """``GET /v0.1/servers/{serverName}/versions``: every version of a server."""
    return _versions(_server(name))


@_read_only
def server_version(request: HttpRequest, name: str, version: str) -> dict[str, Any]:
    """``GET /v0.1/servers/{serverName}/versions/{version}`` (``latest``: the current one)."""
    entry = _server(name)
    if version not in ("latest", entry.version):
        raise ServerNotFound(
            f"server {name!r} has no version {version!r}; its version is {entry.version} "
            "(the registry keeps no older one)"
        )
    return entry.response()


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under ``/v0.1/``: a problem, not Django's HTML page."""
    return _problem(
        request,
        RouteNotFound(
            "the MCP Registry API serves /v0.1/servers, /v0.1/servers/{serverName}/versions "
            "and /v0.1/servers/{serverName}/versions/{version}"
        ),
    )
