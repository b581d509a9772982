"""Protected-resource metadata (RFC 9728): what a client reads before it asks for a token.

Every REST expose namespace and every MCP expose is a protected resource, identified by
its public URL (``admission.Door.resource``). Its metadata document is served at
``/.well-known/oauth-protected-resource/rest/<namespace>`` by the web server and at
``/.well-known/oauth-protected-resource/mcp/<namespace>`` by the MCP server (the URL
RFC 9728 §3.1 derives from the resource's, and the one every 401's ``WWW-Authenticate``
names in ``resource_metadata``). It says:

- ``resource``: the resource identifier, which a token's ``aud`` must hold;
- ``authorization_servers``: ``[REGISTRY_OAUTH_ISSUER]``, when OAuth is configured;
- ``scopes_supported``: ``capability:<capability>`` and ``capability:<capability>:<name>``
  for every exposed operation, tool, resource and prompt of the expose;
- ``bearer_methods_supported``: ``["header"]`` (never a query or form parameter);
- ``resource_name``.

The documents are public (no credential needed, whether or not keys are required) and
cacheable for :data:`MAX_AGE_SECONDS`. Built from the catalog in memory: no database
query on a warm request.

Must not import httpx, models, the MCP SDK, or anything of ``api/`` or ``mcp/``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from capabilities_app.access import oauth
from capabilities_app.access.admission import Door, scope_of
from capabilities_app.core.errors import ResourceNotFound
from capabilities_app.runtime.catalog import Catalog

__all__ = [
    "CACHE_CONTROL",
    "MAX_AGE_SECONDS",
    "METHODS",
    "PATH_PREFIX",
    "mcp_document",
    "rest_document",
]

PATH_PREFIX = "/.well-known/oauth-protected-resource"
MAX_AGE_SECONDS = 300
CACHE_CONTROL = f"public, max-age={MAX_AGE_SECONDS}"
METHODS = ("GET", "HEAD")


def rest_document(catalog: Catalog, namespace: str) -> dict[str, Any]:
    """The metadata of the REST expose ``namespace`` (404 when none is served)."""
    capability = catalog.rest_capabilities.get(namespace)
    if capability is None:
        raise ResourceNotFound(f"no REST expose {namespace!r} is served here")
    names: list[tuple[str, str]] = [(capability, "")]
    for route in catalog.routes.get(namespace, ()):
        if route.forward is not None:  # no name of its own: the whole capability
            context = route.forward_context or route.context
            if context is not None:
                names.append((context.name, ""))
        for operation in route.methods.values():
            names.append((operation.capability, ""))
            if operation.name:
                names.append((operation.capability, operation.name))
    door = Door("rest", namespace, capability)
    return _document(door, names, f"{namespace} (REST API of the capability {capability})")


def mcp_document(catalog: Catalog, namespace: str) -> dict[str, Any]:
    """The metadata of the MCP expose ``namespace`` (404 when none is served)."""
    server = catalog.mcp.get(namespace)
    if server is None:
        raise ResourceNotFound(f"no MCP expose {namespace!r} is served here")
    capability = server.capability
    names = [(capability, "")]
    for group in (server.tools, server.resources, server.prompts):
        names.extend((capability, name) for name in group)
    door = Door("mcp", namespace, capability)
    return _document(door, names, f"{namespace} (MCP server of the capability {capability})")


def _document(door: Door, names: list[tuple[str, str]], name: str) -> dict[str, Any]:
    # Whole capabilities first, then single names, each in the order the expose declares.
    ordered = [n for n in names if not n[1]] + [n for n in names if n[1]]
    scopes = list(dict.fromkeys(scope_of(capability, target) for capability, target in ordered))
    document: dict[str, Any] = {"resource": door.resource}
    if oauth.configured():
        document["authorization_servers"] = [settings.REGISTRY_OAUTH_ISSUER]
    document.update(
        scopes_supported=scopes,
        bearer_methods_supported=["header"],
        resource_name=name,
    )
    return document
