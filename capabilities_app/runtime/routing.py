"""Route matching: the one path-template matcher, and the REST route table's lookup.

The one path-template matcher is ``core.paths.PathTemplate`` (the store's checks read
templates with it too); here the REST routes are compiled from it (:func:`route_regex`)
and looked up (:func:`match`). The MCP resource templates (``mcp.server.match_uri``)
match through ``PathTemplate.match``.

Pure Python over the catalog's frozen types: must not import Django models, httpx or
the MCP SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote

from capabilities_app.core.errors import MethodNotAllowed, RouteNotFound
from capabilities_app.core.paths import PathTemplate

if TYPE_CHECKING:
    from capabilities_app.runtime.catalog import Route

__all__ = ["REST_OF_PATH", "match", "route_regex"]

REST_OF_PATH = "__rest__"
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)
_SLASH_MARK = "\x00"  # an encoded "/" while matching (NUL never appears in a decoded URL)


def route_regex(path: str, *, forward: bool) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A route's regex and variable names; a forward also captures the rest of the path."""
    template = PathTemplate.parse("/" + path.strip("/") if path.strip("/") else "/")
    variables = list(template.variables)
    # A forward's last variable takes the rest of the path.
    pattern = template.pattern(rest_of_path=forward)
    if len(pattern) > 1:
        pattern = pattern.rstrip("/")
    if forward and not template.ends_with_variable:
        # At the root, "/" itself is part of the remainder (else "/x" would not match).
        pattern = ("" if pattern == "/" else pattern) + "(/.*)?"
        variables.append(REST_OF_PATH)
    return re.compile(pattern or "/"), tuple(variables)


def match(
    routes: Mapping[str, Sequence[Route]], method: str, path: str, *, encoded: bool = False
) -> tuple[Route, dict[str, str]]:
    """The route and path variables for ``/rest/<path>``; 404 or 405 otherwise.

    ``routes`` are the catalog's, by namespace. With ``encoded``, ``path`` is the raw
    request path: segments are matched as sent (so ``a%2Fb`` is one segment) and
    variables are decoded afterwards.
    """
    if encoded:
        # Decode everything but an encoded "/", which stays inside its segment.
        path = unquote(_ENCODED_SLASH.sub(_SLASH_MARK, path))
    namespace, _, rest = path.strip("/").partition("/")
    rest = "/" + rest if rest else "/"
    if len(rest) > 1:
        rest = rest.rstrip("/")
    allowed: list[str] = []
    for route in routes.get(namespace, ()):
        found = route.regex.fullmatch(rest)
        if found is None:
            continue
        groups = ((g or "").replace(_SLASH_MARK, "/") for g in found.groups())
        values = dict(zip(route.variables, groups, strict=True))
        if route.forward is not None or route.operation(method) is not None:
            return route, values
        allowed.extend(m for m in route.methods if m not in allowed)
    if allowed:
        raise MethodNotAllowed(
            f"{method} is not allowed on /rest/{path.strip('/').replace(_SLASH_MARK, '/')}; "
            "allowed: " + ", ".join(allowed),
            allowed,
        )
    shown = path.strip("/").replace(_SLASH_MARK, "/")
    raise RouteNotFound(f"no REST operation is served at /rest/{shown}")
