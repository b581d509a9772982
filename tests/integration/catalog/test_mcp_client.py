"""Issue 13 point 3.

A client configuration copied from a catalog page connects: the SDK's streamable HTTP
client, given the URL and headers of the page's JSON (the key placeholder replaced by a
real client key), lists the tools of a real MCP server process serving the seed."""

from __future__ import annotations

import json

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import PREFECT
from tests.integration.catalog.conftest import client_config
from tests.integration.mcp.conftest import run
from tests.support.processes import free_port
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.processes


def test_a_configuration_from_the_catalog_page_connects(tmp_path):
    upstream = RecordingUpstream().start()
    mcp_port = free_port()
    registry = RegistryProcess(
        tmp_path,
        REGISTRY_REQUIRE_CLIENT_KEY="true",
        REGISTRY_MCP_PUBLIC_URL=f"http://127.0.0.1:{mcp_port}",
    )
    try:
        registry.import_document(PREFECT, name=PREFECT.stem, base_uri=upstream.url)
        key = registry.manage(
            "create_client_key", "catalog-reader", "--grant", PREFECT.stem
        ).stdout.strip()
        registry.start_mcp(port=mcp_port)
        web = registry.start_web()
        page = httpx.get(f"{web}/catalog/{PREFECT.stem}/", timeout=30)
        assert page.status_code == 200
        config = client_config(page.text, "claude", "prefect-account-billing-mcp")
        assert "${REGISTRY_KEY}" in config and key not in config
        server = json.loads(config.replace("${REGISTRY_KEY}", key))["mcpServers"][
            "prefect-account-billing-mcp"
        ]
        assert server["type"] == "http"

        async def tools(headers: dict[str, str]) -> list[str]:
            http = httpx2.AsyncClient(headers=headers, timeout=30)
            async with http, Client(streamable_http_client(server["url"], http_client=http)) as c:
                return [tool.name for tool in (await c.list_tools()).tools]

        names = run(tools(server["headers"]))
        assert len(names) == 8 and "get-billing-details" in names
        # The key is what lets it in: the same configuration without it is refused.
        refused = httpx.post(server["url"], json={}, timeout=30)
        assert refused.status_code == 401
    finally:
        registry.stop()
        upstream.stop()
