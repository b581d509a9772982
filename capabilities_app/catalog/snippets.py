"""What a catalog page hands a person to copy: a ``curl`` line per REST operation, the
credential a caller sends, and MCP client configurations.

Every value a document or a caller chose (a URL, a parameter or header name) is data:
each shell word is ``shlex.quote``-d, each JSON snippet is ``json.dumps``-ed. The only
text written as it is are the constant placeholders of a credential
(``"Authorization: Bearer $REGISTRY_KEY"``), double-quoted so the shell expands them.
No secret is ever shown: a credential is always a placeholder, never a bind's value,
and an API key's header name that comes from a bind is not named.

Pure: reads settings; must not import models, ``api/`` or ``mcp/``.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings

__all__ = [
    "KEY_VARIABLE",
    "CurlParam",
    "Header",
    "client_configurations",
    "credential_headers",
    "curl_line",
    "placeholder",
]

# The environment variable a client keeps its registry client key in.
KEY_VARIABLE = "REGISTRY_KEY"
# The same, as each MCP client's configuration file reads a variable.
_CLIENT_KEY = {
    "shell": f"${KEY_VARIABLE}",
    "claude": f"${{{KEY_VARIABLE}}}",
    "cursor": f"${{env:{KEY_VARIABLE}}}",
    "vscode": "${input:registry-key}",
}
# The expose's own credential, when it declares one (the caller gets it from its owner).
_EXPOSE_VARIABLE = "EXPOSE_CREDENTIAL"

_VARIABLE = re.compile(r"\{\{?\s*([^{}]+?)\s*\}?\}")


@dataclass(frozen=True)
class Header:
    """A header a caller sends: ``value`` is a placeholder in ``{shell}``-style form
    (``Bearer {key}``), filled per client by :func:`_filled`."""

    name: str
    value: str  # with "{key}" (the client key) or "{expose}" (the expose's credential)


@dataclass(frozen=True)
class CurlParam:
    """One parameter of a REST operation, as a caller passes it."""

    name: str
    location: str  # path, query, header, cookie or body
    required: bool = False
    whole_body: bool = False  # a body parameter that is the whole body, not one field


def placeholder(name: str) -> str:
    """How a value the caller fills in is written: ``<name>``."""
    return f"<{name}>"


def credential_headers(authentication: dict[str, Any] | None) -> list[Header]:
    """The headers a caller of an expose sends to be let in, their values placeholders:
    the registry's client key when the registry asks for one (docs/access.md), and the
    expose's own credential when its document declares ``authentication``."""
    headers: list[Header] = []
    own = authentication.get("type") if isinstance(authentication, dict) else None
    if own == "bearer":
        headers.append(Header("Authorization", "Bearer {expose}"))
    elif own == "basic":
        headers.append(Header("Authorization", "Basic {expose}"))
    elif own == "apikey" and isinstance(authentication, dict):
        key = authentication.get("key")
        placement = authentication.get("placement") or "header"
        # A key name written as a bind variable is the document's secret: not shown.
        if isinstance(key, str) and key and "{{" not in key and placement == "header":
            headers.append(Header(key, "{expose}"))
    wants_key = settings.REGISTRY_REQUIRE_CLIENT_KEY and (
        not own or settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH
    )
    if wants_key:
        taken = any(h.name.lower() == "authorization" for h in headers)
        headers.append(
            Header("X-API-Key", "{key}") if taken else Header("Authorization", "Bearer {key}")
        )
    return headers


def _filled(value: str, client: str) -> str:
    return value.replace("{key}", _CLIENT_KEY[client]).replace(
        "{expose}", _CLIENT_KEY[client].replace(KEY_VARIABLE, _EXPOSE_VARIABLE)
    )


def _url(url_template: str, params: list[CurlParam]) -> str:
    """The URL with its path variables as placeholders and its query parameters."""
    url = _VARIABLE.sub(lambda m: placeholder(m.group(1)), url_template)
    query = [p for p in params if p.location == "query"]
    if query:
        url += "?" + "&".join(f"{quote(p.name, safe='')}={placeholder(p.name)}" for p in query)
    return url


def _body(params: list[CurlParam]) -> str | None:
    """A JSON skeleton of the body: ``{}`` for a whole-body parameter, else its fields."""
    fields = [p for p in params if p.location == "body"]
    if not fields:
        return None
    if any(p.whole_body for p in fields):
        return "{}"
    return json.dumps({p.name: placeholder(p.name) for p in fields}, ensure_ascii=False)


def curl_line(
    method: str, url_template: str, params: list[CurlParam], credentials: list[Header]
) -> str:
    """A ready ``curl`` command for one REST operation (one line, shell-safe)."""
    words = ["curl"]
    body = _body(params)
    if method != "GET" or body is not None:
        words += ["-X", shlex.quote(method)]
    words.append(shlex.quote(_url(url_template, params)))
    for header in credentials:
        # The name is quoted as data; the placeholder is constant text the shell expands.
        words += ["-H", shlex.quote(f"{header.name}: ") + f'"{_filled(header.value, "shell")}"']
    for p in params:
        if p.location == "header":
            words += ["-H", shlex.quote(f"{p.name}: {placeholder(p.name)}")]
        elif p.location == "cookie":
            words += ["-b", shlex.quote(f"{p.name}={placeholder(p.name)}")]
    if body is not None:
        words += ["-H", shlex.quote("Content-Type: application/json")]
        words += ["-d", shlex.quote(body)]
    return " ".join(words)


def client_configurations(
    name: str, url: str, credentials: list[Header]
) -> list[tuple[str, str, str]]:
    """``(id, title, JSON text)`` of a configuration per common MCP client, for the
    streamable HTTP ``url`` of one MCP expose registered as ``name``."""

    def headers(client: str) -> dict[str, str]:
        return {h.name: _filled(h.value, client) for h in credentials}

    def server(client: str, **kind: str) -> dict[str, Any]:
        entry: dict[str, Any] = {**kind, "url": url}
        if credentials:
            entry["headers"] = headers(client)
        return entry

    claude = {"mcpServers": {name: server("claude", type="http")}}
    vscode: dict[str, Any] = {}
    if any("{key}" in h.value for h in credentials):
        vscode["inputs"] = [
            {
                "type": "promptString",
                "id": "registry-key",
                "description": "Client key of the capability registry",
                "password": True,
            }
        ]
    vscode["servers"] = {name: server("vscode", type="http")}
    cursor = {"mcpServers": {name: server("cursor")}}

    def text(value: Any) -> str:
        return json.dumps(value, indent=2, ensure_ascii=False)

    return [
        ("claude", "Claude Code (.mcp.json) and Claude Desktop", text(claude)),
        ("vscode", "VS Code (.vscode/mcp.json)", text(vscode)),
        ("cursor", "Cursor (.cursor/mcp.json)", text(cursor)),
    ]
