"""A server.json's remote is the URL a client connects to (issue 13 points 4 and 5).

A registry in its own processes (web under gunicorn, MCP under ``run_mcp_server``),
``REGISTRY_MCP_PUBLIC_URL`` the MCP server's address: the SDK client connects to exactly
the URL ``/v0.1/servers`` (and ``export_server_json``) give, ``served.mcp_url``'s form
``<REGISTRY_MCP_PUBLIC_URL>/mcp/<namespace>/mcp``, with the header the document
describes filled in with a client key.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import SHIPYARD
from tests.integration.access.mcp_stack import make_keys
from tests.support.processes import free_port
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

NAME = "com.example.fleet/fleet-tools"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    upstream = RecordingUpstream().start()
    mcp_port = free_port()
    mcp = f"http://127.0.0.1:{mcp_port}"
    registry = RegistryProcess(
        tmp_path_factory.mktemp("mcp-registry-remote"),
        REGISTRY_REQUIRE_CLIENT_KEY="true",
        REGISTRY_MCP_PUBLIC_URL=mcp,
        REGISTRY_MCP_NAMESPACE="com.example.fleet",
        FLEET_TOKEN="fleet-token",
    )
    try:
        registry.import_document(SHIPYARD, name=SHIPYARD.stem, base_uri=upstream.url)
        key = make_keys(registry, {"reader": {"grants": [SHIPYARD.stem]}})["reader"]
        registry.start_mcp(port=mcp_port)
        web = registry.start_web()
        yield registry, web, mcp, key
    finally:
        registry.stop()
        upstream.stop()


def list_tools(url: str, headers: dict[str, str]) -> set[str]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def use() -> set[str]:
        http = httpx2.AsyncClient(headers=headers)
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    return asyncio.run(use())


def filled(remote: dict, key: str) -> dict[str, str]:
    """The headers a client sends: each described header's value template, the secret in."""
    headers = {}
    for header in remote.get("headers", []):
        assert header["isRequired"] and header["isSecret"]
        value = header.get("value", "{secret}")
        for variable in header.get("variables", {"secret": {}}):
            value = value.replace("{" + variable + "}", key)
        headers[header["name"]] = value
    return headers


def test_the_listed_remote_connects_with_the_sdk_client(stack):
    _registry, web, mcp, key = stack
    response = httpx.get(f"{web}/v0.1/servers", params={"search": "fleet"}, timeout=30)
    assert response.status_code == 200, response.text
    (item,) = response.json()["servers"]
    assert item["server"]["name"] == NAME
    (remote,) = item["server"]["remotes"]
    assert remote["type"] == "streamable-http"
    assert remote["url"] == f"{mcp}/mcp/fleet-tools/mcp"  # served.mcp_url's form, exactly
    headers = filled(remote, key)
    assert headers == {"Authorization": f"Bearer {key}"}
    assert list_tools(remote["url"], headers) == {"list-ships", "get-ship"}
    # The credential the document asks for is needed: without it the server refuses.
    refused = httpx.post(remote["url"], json={}, timeout=30)
    assert refused.status_code == 401


def test_the_name_url_encoded_over_wsgi(stack):
    """Under a real WSGI server too, the name's %2F reaches the view as '/'."""
    _registry, web, _mcp, _key = stack
    path = f"/v0.1/servers/{quote(NAME, safe='')}/versions/latest"
    response = httpx.get(web + path, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["server"]["name"] == NAME


def test_the_exported_file_connects_too(stack, tmp_path):
    registry, _web, mcp, key = stack
    registry.manage("export_server_json", "--out", str(tmp_path))
    document = json.loads((tmp_path / "fleet-tools" / "server.json").read_text())
    (remote,) = document["remotes"]
    assert remote["url"] == f"{mcp}/mcp/fleet-tools/mcp"
    assert list_tools(remote["url"], filled(remote, key)) == {"list-ships", "get-ship"}
