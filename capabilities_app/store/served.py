"""Where the registry serves each expose: the URLs a client is given (issue 13 point 5).

One place for every URL the registry hands out. The catalog, the registry API, the MCP
Registry's ``server.json``, the admin, the demo and the README all read it. The URLs are
built from ``REGISTRY_PUBLIC_URL`` and ``REGISTRY_MCP_PUBLIC_URL``, never from a request's
``Host``, and never from the document's own ``address``/``port`` (the reference engine's
listeners, which the registry does not open).

- REST: ``<REGISTRY_PUBLIC_URL>/rest/<namespace><path>``, its OpenAPI document at
  ``/rest/<namespace>/openapi.json`` (and ``.yaml``), interactive docs at
  ``/rest/<namespace>/docs``.
- MCP: ``<REGISTRY_MCP_PUBLIC_URL>/mcp/<namespace>/mcp``. The gateway serves the same
  expose at ``/mcp/<namespace>`` too, but clients such as the MCP Inspector choose their
  transport from the URL and take streamable HTTP only for a path ending in ``/mcp``; the
  SDK's client takes either. The resource identifier (RFC 9728, the audience of an access
  token) stays ``/mcp/<namespace>``, a prefix of the URL.

Imports nothing of the app: settings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings

__all__ = [
    "ServedExpose",
    "capability_api_url",
    "catalog_url",
    "mcp_stdio_command",
    "mcp_url",
    "registry_api_url",
    "rest_base_url",
    "rest_docs_url",
    "rest_openapi_url",
    "rest_url",
    "served_expose",
]


def _segment(value: str) -> str:
    return quote(value, safe="-._~")


def rest_base_url(namespace: str) -> str:
    """The REST expose's base: every exposed path is appended to it."""
    return f"{settings.REGISTRY_PUBLIC_URL}/rest/{_segment(namespace)}"


def rest_url(namespace: str, path: str) -> str:
    """One exposed resource path (as declared, ``{x}`` placeholders kept) under its expose."""
    if path and not path.startswith("/"):
        path = "/" + path
    return rest_base_url(namespace) + path


def rest_openapi_url(namespace: str, *, fmt: str = "json") -> str:
    """The OpenAPI 3.1 document the registry generates for a REST expose (json or yaml)."""
    if fmt not in ("json", "yaml"):
        raise ValueError(f"an OpenAPI document is json or yaml, not {fmt!r}")
    return f"{rest_base_url(namespace)}/openapi.{fmt}"


def rest_docs_url(namespace: str) -> str:
    """The interactive documentation (Swagger UI) of a REST expose."""
    return f"{rest_base_url(namespace)}/docs"


def mcp_url(namespace: str) -> str:
    """The streamable HTTP URL of an MCP expose: the one URL every client is given."""
    return f"{settings.REGISTRY_MCP_PUBLIC_URL}/mcp/{_segment(namespace)}/mcp"


def mcp_stdio_command(namespace: str) -> list[str]:
    """The command that serves one MCP expose over stdio, run in the registry's checkout
    (with its ``.venv`` active and its environment set)."""
    return [
        "python",
        "manage.py",
        "run_mcp_server",
        "--transport",
        "stdio",
        "--namespace",
        namespace,
    ]


def catalog_url(name: str) -> str:
    """A capability's page in the browsable catalog."""
    return f"{settings.REGISTRY_PUBLIC_URL}/catalog/{_segment(name)}/"


def registry_api_url(path: str = "") -> str:
    """The registry API (``/api/v1/``), or a path under it (no leading slash)."""
    return f"{settings.REGISTRY_PUBLIC_URL}/api/v1/{path}"


def capability_api_url(name: str, part: str = "") -> str:
    """A capability in the registry API; ``part`` is ``export/`` for its YAML."""
    return registry_api_url(f"capabilities/{_segment(name)}/{part}")


@dataclass(frozen=True)
class ServedExpose:
    """Where one REST or MCP expose is served."""

    type: str  # "rest" or "mcp"
    namespace: str
    url: str  # REST: the base every path is appended to; MCP: the streamable HTTP URL
    openapi_url: str | None = None  # REST only
    docs_url: str | None = None  # REST only
    stdio_command: tuple[str, ...] | None = None  # MCP only


def served_expose(expose_type: str, namespace: str | None) -> ServedExpose | None:
    """Where an expose of this type and namespace is served; ``None`` for what the
    registry keeps but does not serve (skill and control adapters, no namespace)."""
    if not namespace:
        return None
    if expose_type == "rest":
        return ServedExpose(
            type="rest",
            namespace=namespace,
            url=rest_base_url(namespace),
            openapi_url=rest_openapi_url(namespace),
            docs_url=rest_docs_url(namespace),
        )
    if expose_type == "mcp":
        return ServedExpose(
            type="mcp",
            namespace=namespace,
            url=mcp_url(namespace),
            stdio_command=tuple(mcp_stdio_command(namespace)),
        )
    return None
