"""Route matching: the one path-template matcher, and the REST route table's lookup.

A path template (a REST resource path, a consumed resource path, an MCP resource URI)
holds ``{x}`` or ``{{x}}`` variables. :class:`PathTemplate` splits one once into
literals and names; :meth:`PathTemplate.pattern` turns it into the regex that matches
it (literals as they are, each variable exactly one ``/``-free segment). The REST
routes (:func:`route_regex`, :func:`match`) and the MCP resource templates
(``mcp.server.match_uri``) both match through it.

Pure Python over the catalog's frozen types: must not import Django models, httpx or
the MCP SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from capabilities_app.core.errors import MethodNotAllowed, RouteNotFound

if TYPE_CHECKING:
    from capabilities_app.runtime.catalog import Route

__all__ = ["REST_OF_PATH", "PathTemplate", "match", "route_regex"]

_TEMPLATE_VARIABLE = re.compile(r"\{\{?\s*([^{}]+?)\s*\}?\}")
_SEGMENT = "([^/]+)"
REST_OF_PATH = "__rest__"
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)
_SLASH_MARK = "\x00"  # an encoded "/" while matching (NUL never appears in a decoded URL)


@dataclass(frozen=True)
class PathTemplate:
    """A path with ``{x}``/``{{x}}`` variables, split once: literal, name, literal, …"""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> PathTemplate:
        return cls(tuple(_TEMPLATE_VARIABLE.split(path)))

    @property
    def variables(self) -> tuple[str, ...]:
        return self.parts[1::2]

    @property
    def ends_with_variable(self) -> bool:
        return len(self.parts) > 1 and self.parts[-1] == ""

    def pattern(self, *, rest_of_path: bool = False) -> str:
        """The regex source matching the template: literals escaped, each variable one
        segment; with ``rest_of_path``, a variable that ends the template takes the rest
        of the path (slashes included)."""
        pattern = ""
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                pattern += re.escape(part)
            elif rest_of_path and self.ends_with_variable and i == len(self.parts) - 2:
                pattern += "(.+)"
            else:
                pattern += _SEGMENT
        return pattern

    def match(self, text: str) -> dict[str, str] | None:
        """The value of each variable in ``text`` as it is written there (None: no match)."""
        found = re.fullmatch(self.pattern(), text)
        if found is None:
            return None
        return dict(zip(self.variables, found.groups(), strict=True))


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
