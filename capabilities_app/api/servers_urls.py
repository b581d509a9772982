"""URLs of the MCP Registry API (``/v0.1/``, mounted in ``registry/urls.py``).

A server name holds one ``/``; clients send it encoded (``%2F``) and it arrives decoded,
so the patterns take the name as two segments.
"""

from django.urls import re_path

from capabilities_app.api import servers

_NAME = r"(?P<name>[^/]+/[^/]+)"

urlpatterns = [
    re_path(r"^servers$", servers.server_list, name="mcp-servers"),
    re_path(rf"^servers/{_NAME}/versions$", servers.server_versions, name="mcp-server-versions"),
    re_path(
        rf"^servers/{_NAME}/versions/(?P<version>[^/]+)$",
        servers.server_version,
        name="mcp-server-version",
    ),
    re_path(r"^(?P<rest>[\s\S]*)$", servers.not_found),
]
