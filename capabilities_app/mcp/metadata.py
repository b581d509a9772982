"""``/.well-known/oauth-protected-resource/mcp/<namespace>`` on the MCP server: an MCP
expose's protected-resource metadata (RFC 9728), as ``resource_metadata`` builds it.

Answered by the front door (``probes.Probes``) before the gateway: like the probes, it
needs no credential and skips the gateway's Host and Origin checks (the document is
public, the same for every caller, and names its resource from
``REGISTRY_MCP_PUBLIC_URL``, never from the request). ``/mcp/<namespace>/mcp``, where
the gateway serves the same expose, has the same document. A namespace the gateway
does not serve (not in the catalog, or left out by ``--namespace``) is 404.
"""

from __future__ import annotations

import json
import re
from typing import Any

from capabilities_app.access import resource_metadata
from capabilities_app.core.errors import (
    MethodNotAllowed,
    ResourceNotFound,
)
from capabilities_app.mcp.answers import send_problem
from capabilities_app.mcp.server import current_catalog

_PATH = re.compile("^" + re.escape(resource_metadata.PATH_PREFIX) + r"/mcp/([^/]+)(?:/mcp)?/?$")


def is_metadata_path(path: str) -> bool:
    return path == resource_metadata.PATH_PREFIX or path.startswith(
        resource_metadata.PATH_PREFIX + "/"
    )


async def serve(scope: dict[str, Any], send: Any, namespaces: set[str] | None) -> None:
    """Answer a request under PATH_PREFIX."""
    path = scope.get("path", "")
    try:
        if scope.get("method") not in resource_metadata.METHODS:
            raise MethodNotAllowed(
                f"{scope.get('method')} is not allowed here; allowed: GET, HEAD",
                list(resource_metadata.METHODS),
            )
        found = _PATH.match(path)
        if found is None:
            raise ResourceNotFound(
                "the MCP server serves the metadata of MCP exposes only, at "
                f"{resource_metadata.PATH_PREFIX}/mcp/<namespace>"
            )
        namespace = found.group(1)
        if namespaces is not None and namespace not in namespaces:
            raise ResourceNotFound(f"no MCP expose {namespace!r} is served here")
        document = resource_metadata.mcp_document(await current_catalog(), namespace)
    except (MethodNotAllowed, ResourceNotFound) as error:
        await send_problem(send, error, scope.get("path", ""))
        return
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", resource_metadata.CACHE_CONTROL.encode()),
        (b"access-control-allow-origin", b"*"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
