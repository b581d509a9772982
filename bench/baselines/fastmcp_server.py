"""FastMCP's ``from_openapi`` over the benchmark's upstream: an OpenAPI 3.1 document with
the one operation the registry's ``get-ship`` tool calls (``GET /ships/{imo}``, bearer
security), served by FastMCP with its own ``httpx2.AsyncClient`` (the bearer token in its
headers, as FastMCP's documentation sets authentication for ``from_openapi``).

Served over streamable HTTP (``FastMCP.http_app``: sessions for 2025-11-25 clients,
self-contained requests for 2026-07-28 ones; JSON answers, as the registry's gateway sends
them) by uvicorn with its defaults (uvloop and httptools when installed). Started by
``bench/mcp_baselines.py``:

    python bench/baselines/fastmcp_server.py PORT UPSTREAM_URL

with the upstream's token in ``BENCH_UPSTREAM_TOKEN``. Bench code only.
"""

from __future__ import annotations

import os
import sys

import httpx2
import uvicorn
from fastmcp import FastMCP


def openapi(upstream: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fleet", "version": "1.0.0"},
        "servers": [{"url": upstream}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/ships/{imo}": {
                "get": {
                    "operationId": "get-ship",
                    "summary": "Get a ship by IMO number",
                    "parameters": [
                        {
                            "name": "imo",
                            "in": "path",
                            "required": True,
                            "description": "IMO number",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "One ship",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            }
        },
    }


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    client = httpx2.AsyncClient(
        base_url=upstream,
        headers={"Authorization": f"Bearer {os.environ['BENCH_UPSTREAM_TOKEN']}"},
        timeout=30,
    )
    # FastMCP slugs the operationId: the tool is "get_ship".
    server = FastMCP.from_openapi(openapi(upstream), client=client, name="fastmcp-baseline")
    app = server.http_app(path="/mcp", json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
