"""A registry with an MCP server running as its own process, and a recording upstream.

Module-scoped: starting processes costs seconds, and the tests read what they change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client

from tests.conftest import CORPUS, NETBIRD, PREFECT, SHIPYARD
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import RecordingUpstream

NETBIRD_KEY = "nb-mcp-key-5150"
FLEET_TOKEN = "fleet-mcp-token"
RESOURCES_PROMPTS = CORPUS / "naftiko__framework" / "mcp-resources-prompts-capability.yaml"

# A catalog-dialect tool: a required path parameter, an optional query parameter,
# a header parameter and a body, with no declared inputParameters.
CATALOG = """
naftiko: 1.0.0-alpha2
info: {label: Catalog, description: A catalog-dialect tool.}
capability:
  consumes:
  - type: http
    namespace: orders
    baseUri: https://orders.example
    resources:
    - name: order-lines
      path: /orders/{order_id}/lines
      operations:
      - name: add-line
        method: POST
        inputParameters:
        - {name: order_id, in: path, type: string, required: true, description: The order}
        - {name: dry_run, in: query, type: boolean, required: false, description: Only check}
        - {name: X-Request-Id, in: header, type: string, description: Tracing id}
        - {name: body, in: body, type: object, description: Request body (JSON)., required: true}
  exposes:
  - type: mcp
    namespace: orders-mcp
    port: 9090
    description: Orders over MCP.
    tools:
    - name: add-order-line
      description: Add a line to an order
      hints: {readOnly: false, destructive: false, idempotent: false, openWorld: true}
      call: orders.add-line
      with: {order_id: tools.order_id, dry_run: tools.dry_run, X-Request-Id: tools.request_id,
             body: tools.body}
"""


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)


async def with_client(url: str, use: Callable[[Client], Awaitable[Any]], mode: str = "auto") -> Any:
    async with Client(url, mode=mode) as client:
        return await use(client)


@pytest.fixture(scope="module")
def mcp_upstream():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, mcp_upstream):
    process = RegistryProcess(
        tmp_path_factory.mktemp("mcp-registry"),
        NETBIRD_API_KEY=NETBIRD_KEY,
        FLEET_TOKEN=FLEET_TOKEN,
    )
    for path in (PREFECT, NETBIRD, SHIPYARD, RESOURCES_PROMPTS):
        process.import_document(path, name=path.stem, base_uri=mcp_upstream.url)
    process.import_document(CATALOG, name="catalog-orders", base_uri=mcp_upstream.url)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def mcp_url(registry) -> str:
    return registry.start_mcp()
