"""A registry whose MCP server needs client keys, the documents it serves, and helpers.

The MCP server runs as its own process (``run_mcp_server``, streamable HTTP) with
``REGISTRY_REQUIRE_CLIENT_KEY=true``, against a recording upstream on 127.0.0.1 and a
test identity provider (``tests/support/identity.py``). Keys are made in the registry's
own database with the domain function the command and the admin use, all in one
``manage.py shell`` (each costs a Django start).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.integration.mcp.conftest import run
from tests.support.registry_process import RegistryProcess

MODES = ["legacy", "2026-07-28"]
# The public base URLs the registry names its resources by (RFC 8707/9728): not where
# the test reaches it, as behind a proxy.
MCP_PUBLIC_URL = "https://mcp.registry.test"
PUBLIC_URL = "https://registry.test"
VAULT_TOKEN = "vault-mcp-token-0420"  # the vault expose's own credential (its binds)

DESK = """
naftiko: 1.0.0-alpha2
info: {label: Desk, description: Notes at a desk.}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://desk.example
    resources:
    - name: notes
      path: /notes
      operations:
      - {name: list-notes, method: GET}
    - name: note
      path: /notes/{id}
      operations:
      - name: get-note
        method: GET
        inputParameters:
        - {name: id, in: path}
  exposes:
  - type: mcp
    namespace: desk-mcp
    port: 9090
    description: Notes over MCP.
    tools:
    - {name: list-notes, description: List the notes, call: api.list-notes}
    - name: get-note
      description: One note
      call: api.get-note
      with: {id: tools.id}
    - name: find-note
      description: One note, found again
      call: api.get-note
      with: {id: tools.id}
    resources:
    - name: all-notes
      label: All notes
      uri: notes://all
      description: Every note
      mimeType: application/json
      call: api.list-notes
    - name: one-note
      label: One note
      uri: notes://{id}
      description: A note by its id
      mimeType: application/json
      call: api.get-note
      with: {id: '{{id}}'}
    prompts:
    - name: summarize
      label: Summarize
      description: Summarize notes on a topic
      arguments:
      - {name: topic, description: The topic, required: true}
      template:
      - {role: user, content: 'Summarize the notes on {{topic}}.'}
    - name: greet
      label: Greet
      description: Say hello
      template:
      - {role: user, content: Hello.}
"""

YARD = """
naftiko: 1.0.0-alpha2
info: {label: Yard, description: Boats in a yard.}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://yard.example
    resources:
    - name: boats
      path: /boats
      operations:
      - {name: list-boats, method: GET}
  exposes:
  - type: mcp
    namespace: yard-mcp
    port: 9090
    description: Boats over MCP.
    tools:
    - {name: list-boats, description: List the boats, call: api.list-boats}
"""

# An MCP expose that declares its own authentication (its callers' bearer token).
VAULT = """
naftiko: 1.0.0-alpha2
info: {label: Vault, description: A guarded vault.}
binds:
- namespace: env
  keys: {VAULT_TOKEN: VAULT_MCP_TOKEN}
capability:
  consumes:
  - type: http
    namespace: api
    baseUri: https://vault.example
    resources:
    - name: vault
      path: /vault
      operations:
      - {name: open-vault, method: GET}
  exposes:
  - type: mcp
    namespace: vault-mcp
    port: 9090
    description: The vault over MCP.
    authentication: {type: bearer, token: '{{VAULT_TOKEN}}'}
    tools:
    - {name: open-vault, description: Open the vault, call: api.open-vault}
"""

DOCUMENTS = {"desk": DESK, "yard": YARD, "vault": VAULT}

# Raw requests, for what happens before any MCP message is handled.
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}


def tool_call(name: str, arguments: dict | None = None) -> dict:
    """A 2026-07-28 ``tools/call`` as a raw request body (each request stands alone)."""
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": name,
            "arguments": arguments or {},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }


MODERN_HEADERS = {**HEADERS, "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call"}


def start_registry(workdir, upstream_url: str, **environment: str) -> RegistryProcess:
    """A registry (keys required) with the documents imported, pointed at the upstream."""
    registry = RegistryProcess(
        workdir,
        REGISTRY_REQUIRE_CLIENT_KEY="true",
        REGISTRY_MCP_PUBLIC_URL=MCP_PUBLIC_URL,
        REGISTRY_PUBLIC_URL=PUBLIC_URL,
        VAULT_MCP_TOKEN=VAULT_TOKEN,
        **environment,
    )
    for name, document in DOCUMENTS.items():
        registry.import_document(document, name=name, base_uri=upstream_url)
    return registry


def make_keys(registry: RegistryProcess, keys: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Make each key (name -> ``{"grants": [...], "revoked": bool, "expired": bool, ...}``)
    in the registry's database; their secrets by name."""
    code = f"""
import json
from tests.support import keys as k
secrets = {{}}
for name, spec in json.loads({json.dumps(json.dumps(keys))}).items():
    spec = dict(spec)
    revoked, expired = spec.pop("revoked", False), spec.pop("expired", False)
    secrets[name] = k.make_key(name, *spec.pop("grants", []), **spec)
    if revoked:
        k.revoke(name)
    if expired:
        k.expire(name)
print(json.dumps(secrets))
"""
    output = registry.manage("shell", "-v", "0", "-c", code).stdout
    return json.loads(output.strip().splitlines()[-1])


async def connect(
    url: str,
    use: Callable[[Client], Awaitable[Any]],
    *,
    headers: dict[str, str] | None = None,
    mode: str = "auto",
    extensions: list | None = None,
    statuses: list[int] | None = None,
) -> Any:
    """The SDK's client over streamable HTTP, sending ``headers`` with every request
    (and noting in ``statuses`` the HTTP status of every answer it gets)."""

    async def note(response) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    http = httpx2.AsyncClient(headers=headers or {}, timeout=30, event_hooks={"response": [note]})
    async with (
        http,
        Client(
            streamable_http_client(url, http_client=http), mode=mode, extensions=extensions
        ) as client,
    ):
        return await use(client)


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def api_key(secret: str) -> dict[str, str]:
    return {"x-api-key": secret}


def tool_names(url: str, headers: dict[str, str], mode: str = "auto") -> set[str]:
    async def use(client):
        return {tool.name for tool in (await client.list_tools()).tools}

    return run(connect(url, use, headers=headers, mode=mode))


def call_tool(url: str, headers: dict[str, str], name: str, arguments: dict, mode: str = "auto"):
    async def use(client):
        return await client.call_tool(name, arguments)

    return run(connect(url, use, headers=headers, mode=mode))


def problem_of(result) -> dict:
    """The problem document an ``isError`` tool result carries as its text."""
    assert result.is_error is True, result
    return json.loads(result.content[0].text)


def post(url: str, body: dict, headers: dict[str, str] | None = None, **extra) -> httpx.Response:
    """One raw POST (no MCP client): what the gateway answers before the SDK."""
    return httpx.post(url, json=body, headers={**HEADERS, **(headers or {}), **extra}, timeout=30)
