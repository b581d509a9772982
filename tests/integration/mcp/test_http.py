"""The MCP surface over streamable HTTP, driven by the SDK's own client.

Both protocol generations the SDK speaks are exercised: ``legacy`` (the 2025-11-25
``initialize`` handshake, with a session) and ``2026-07-28`` (discovery, each request
standing alone).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.mcp.conftest import FLEET_TOKEN, NETBIRD_KEY, run, with_client
from tests.support.upstream import Answer

pytestmark = pytest.mark.processes  # see tests/conftest.py

MODES = ["legacy", "2026-07-28"]

PREFECT_HINTS = {
    "cancel-org-subscription-period-end": (False, False, False),
    "create-billing-portal-session": (False, False, False),
    "get-billing-details": (True, False, True),
    "manage-subscription": (False, False, False),
    "get-checkout-link": (True, False, False),
    "get-subscription-restrictions": (True, False, True),
    "update-slots": (False, False, False),
    "validate-subscription-status": (True, False, False),
}


def tools_of(url: str, namespace: str, mode: str = "auto"):
    async def use(client):
        return (await client.list_tools()).tools

    return run(with_client(f"{url}/mcp/{namespace}", use, mode))


def call(url: str, namespace: str, tool: str, arguments: dict, mode: str = "auto"):
    async def use(client):
        return await client.call_tool(tool, arguments)

    return run(with_client(f"{url}/mcp/{namespace}", use, mode))


@pytest.mark.parametrize("mode", MODES)
def test_prefect_tools_with_their_exact_hints(mcp_url, mode):
    tools = {t.name: t for t in tools_of(mcp_url, "prefect-account-billing-mcp", mode)}
    assert set(tools) == set(PREFECT_HINTS)
    for name, (read_only, destructive, idempotent) in PREFECT_HINTS.items():
        annotations = tools[name].annotations
        assert (
            annotations.read_only_hint,
            annotations.destructive_hint,
            annotations.idempotent_hint,
        ) == (
            read_only,
            destructive,
            idempotent,
        ), name
        assert annotations.open_world_hint is None  # not given, so not claimed
    assert tools["get-billing-details"].description == "Get Billing Details"


def test_netbird_has_one_tool(mcp_url):
    (tool,) = tools_of(mcp_url, "netbird-checkout-mcp")
    assert tool.name == "create-checkout-session"
    assert tool.input_schema == {
        "type": "object",
        "properties": {"body": {"type": "object"}},
        "required": ["body"],
        "additionalProperties": False,
    }


def test_derived_input_schema_of_a_catalog_tool(mcp_url):
    (tool,) = tools_of(mcp_url, "orders-mcp")
    assert tool.input_schema == {
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "description": "The order"},
            "dry_run": {"type": "boolean", "description": "Only check"},
            "request_id": {"type": "string", "description": "Tracing id"},
            "body": {"type": "object"},
        },
        "required": ["order_id", "body"],
        "additionalProperties": False,
    }
    assert tool.annotations.open_world_hint is True


def test_declared_input_schema_of_a_canonical_tool(mcp_url):
    tools = {t.name: t for t in tools_of(mcp_url, "fleet-tools")}
    assert tools["get-ship"].title == "Get ship"
    assert tools["get-ship"].input_schema == {
        "type": "object",
        "properties": {"imo": {"type": "string", "description": "IMO number of the ship"}},
        "required": ["imo"],
        "additionalProperties": False,
    }
    assert tools["list-ships"].input_schema["properties"]["status"]["type"] == "string"
    assert "required" not in tools["list-ships"].input_schema


@pytest.mark.parametrize("mode", MODES)
def test_a_call_reaches_the_upstream_as_the_document_says(mcp_url, mcp_upstream, mode):
    mcp_upstream.answer("POST", "/orders/o%201/lines", Answer(201, {"line": 3}))
    before = len(mcp_upstream.received)
    result = call(
        mcp_url,
        "orders-mcp",
        "add-order-line",
        {
            "order_id": "o 1",
            "dry_run": True,
            "request_id": "req-9",
            "body": {"sku": "A-1", "qty": 2},
        },
        mode,
    )
    assert result.is_error is False
    assert result.structured_content == {"line": 3}
    assert json.loads(result.content[0].text) == {"line": 3}
    (received,) = mcp_upstream.received[before:]
    assert (received.method, received.raw_path) == ("POST", "/orders/o%201/lines")
    assert received.query == [("dry_run", "true")]
    assert received.header("X-Request-Id") == "req-9"
    assert received.json() == {"sku": "A-1", "qty": 2}


def test_auth_comes_from_the_bind_variable(mcp_url, mcp_upstream):
    before = len(mcp_upstream.received)
    result = call(
        mcp_url, "netbird-checkout-mcp", "create-checkout-session", {"body": {"plan": "team"}}
    )
    assert result.is_error is False
    (received,) = mcp_upstream.received[before:]
    assert (received.method, received.path) == ("POST", "/api/integrations/billing/checkout")
    assert received.header("authorization") == f"Bearer {NETBIRD_KEY}"

    before = len(mcp_upstream.received)
    call(mcp_url, "fleet-tools", "get-ship", {"imo": "IMO-1"})
    (received,) = mcp_upstream.received[before:]
    assert received.header("authorization") == f"Bearer {FLEET_TOKEN}"
    assert received.path == "/ships/IMO-1"


def test_an_upstream_404_is_an_error_result(mcp_url, mcp_upstream):
    mcp_upstream.answer(
        "GET", "/api/billing/missing/details", Answer(404, {"detail": "no account"})
    )
    result = call(
        mcp_url, "prefect-account-billing-mcp", "get-billing-details", {"account_id": "missing"}
    )
    assert result.is_error is True
    assert json.loads(result.content[0].text) == {"detail": "no account"}
    assert result.structured_content is None


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_required_argument_is_refused_before_any_upstream_request(
    mcp_url, mcp_upstream, mode
):
    before = len(mcp_upstream.received)
    result = call(mcp_url, "prefect-account-billing-mcp", "get-billing-details", {}, mode)
    assert result.is_error is True
    problem = json.loads(result.content[0].text)
    assert problem["code"] == "invalid_arguments"
    assert "account_id" in problem["detail"]
    assert mcp_upstream.received[before:] == []


def test_a_wrong_argument_type_is_refused(mcp_url, mcp_upstream):
    before = len(mcp_upstream.received)
    result = call(
        mcp_url, "orders-mcp", "add-order-line", {"order_id": "o", "body": "not an object"}
    )
    assert result.is_error is True
    assert json.loads(result.content[0].text)["code"] == "invalid_arguments"
    assert mcp_upstream.received[before:] == []


def test_an_unknown_tool_is_a_protocol_error(mcp_url):
    from mcp.shared.exceptions import MCPError

    async def use(client):
        with pytest.raises(MCPError) as error:
            await client.call_tool("no-such-tool", {})
        return error.value

    error = run(with_client(f"{mcp_url}/mcp/fleet-tools", use))
    assert "unknown tool: no-such-tool" in str(error)


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
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


class TestDnsRebindingProtection:
    def test_a_foreign_host_is_refused(self, mcp_url):
        response = httpx.post(
            f"{mcp_url}/mcp/fleet-tools",
            json=INITIALIZE,
            headers={**HEADERS, "host": "evil.example"},
        )
        assert response.status_code in (403, 421)

    def test_a_foreign_origin_is_refused(self, mcp_url):
        response = httpx.post(
            f"{mcp_url}/mcp/fleet-tools",
            json=INITIALIZE,
            headers={**HEADERS, "origin": "https://evil.example"},
        )
        assert response.status_code == 403

    def test_a_local_origin_is_served(self, mcp_url):
        port = mcp_url.rsplit(":", 1)[1]
        response = httpx.post(
            f"{mcp_url}/mcp/fleet-tools",
            json=INITIALIZE,
            headers={**HEADERS, "origin": f"http://localhost:{port}"},
        )
        assert response.status_code == 200


def test_an_unknown_namespace_is_404(mcp_url):
    response = httpx.post(f"{mcp_url}/mcp/no-such-namespace", json=INITIALIZE, headers=HEADERS)
    assert response.status_code == 404
    assert response.json()["code"] == "route_not_found"


def test_instructions_are_the_expose_description(mcp_url):
    async def use(client):
        return client.instructions, client.server_info.name

    instructions, name = run(with_client(f"{mcp_url}/mcp/fleet-tools", use, "legacy"))
    assert instructions == "Tools over the demo fleet registry."
    assert name == "fleet-tools"


class TestResourcesAndPrompts:
    def test_resources_and_templates_are_listed(self, mcp_url):
        async def use(client):
            return (await client.list_resources()).resources, (
                await client.list_resource_templates()
            ).resource_templates

        resources, templates = run(with_client(f"{mcp_url}/mcp/test-mcp-resources-prompts", use))
        assert [(r.name, str(r.uri), r.mime_type) for r in resources] == [
            ("database-schema", "data://databases/pre-release/schema", "application/json")
        ]
        assert [(t.name, t.uri_template) for t in templates] == [
            ("user-profile", "data://users/{userId}/profile")
        ]

    def test_a_templated_resource_is_read_through_its_call(self, mcp_url, mcp_upstream):
        mcp_upstream.answer(
            "POST", "/databases/42/query", Answer(200, {"results": [{"id": "u-42"}]})
        )
        before = len(mcp_upstream.received)

        async def use(client):
            return await client.read_resource("data://users/42/profile")

        result = run(with_client(f"{mcp_url}/mcp/test-mcp-resources-prompts", use))
        (content,) = result.contents
        assert json.loads(content.text) == {"results": [{"id": "u-42"}]}
        (received,) = mcp_upstream.received[before:]
        assert received.path == "/databases/42/query"
        assert received.header("Content-Type") == "application/json"

    def test_prompts_render_their_arguments(self, mcp_url):
        async def use(client):
            listed = (await client.list_prompts()).prompts
            got = await client.get_prompt(
                "summary-prompt", {"data": "Q3 numbers", "format": "bullet-points"}
            )
            return listed, got

        listed, got = run(with_client(f"{mcp_url}/mcp/test-mcp-resources-prompts", use))
        outreach = next(p for p in listed if p.name == "participant-outreach")
        assert [(a.name, a.required) for a in outreach.arguments] == [
            ("participant_name", True),
            ("product_name", True),
        ]
        assert [m.role for m in got.messages] == ["user", "assistant", "user"]
        assert got.messages[0].content.text == (
            "Summarize the following data in bullet-points format:\n\nQ3 numbers"
        )


class TestExposeAuthentication:
    """Tutorial step 3 guards its MCP expose with a bearer token from its file binds."""

    @pytest.fixture(scope="class")
    @classmethod
    def guarded(cls, registry, mcp_upstream):
        from tests.conftest import CORPUS

        step = CORPUS / "naftiko__framework" / "tutorial" / "step-3-shipyard-auth.yml"
        # Imported from the corpus folder, so its file:///./shared/secrets.yaml resolves.
        registry.manage("import_capability", str(step))
        return "sk-mcp-YYYYYYYYYYYY"  # mcp-server-token in shared/secrets.yaml

    def test_without_the_token_the_request_is_401(self, mcp_url, guarded):
        response = httpx.post(f"{mcp_url}/mcp/shipyard-tools", json=INITIALIZE, headers=HEADERS)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "not_authenticated"

    def test_with_the_token_the_sdk_client_is_served(self, mcp_url, guarded):
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        async def use():
            http = httpx2.AsyncClient(headers={"authorization": f"Bearer {guarded}"})
            async with (
                http,
                Client(
                    streamable_http_client(f"{mcp_url}/mcp/shipyard-tools", http_client=http)
                ) as client,
            ):
                return (await client.list_tools()).tools

        assert {t.name for t in run(use())} == {"list-ships", "get-ship"}


class TestTaskAugmentedCalls:
    """MCP tasks in their 2025-11-25 form: the SDK (2.3) serves no ``tasks/*`` method at
    that version and sieves task results out of ``tools/call``; so on 2025-11-25 sessions
    the registry advertises no task support and, as the spec asks of such a server,
    answers a task-augmented call with the ordinary result. Tasks are served as the
    2026-07-28 extension (tests/integration/jobs/test_mcp_tasks.py, docs/jobs.md)."""

    def session(self, url: str):
        client = httpx.Client(base_url=url, headers=HEADERS, timeout=10)
        response = client.post("", json=INITIALIZE)
        assert response.status_code == 200
        if "mcp-session-id" in response.headers:
            client.headers["mcp-session-id"] = response.headers["mcp-session-id"]
        client.headers["mcp-protocol-version"] = "2025-11-25"
        client.post("", json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        return client, response.json()["result"]

    def test_no_task_support_is_advertised(self, mcp_url):
        _client, initialized = self.session(f"{mcp_url}/mcp/fleet-tools")
        assert "tasks" not in initialized["capabilities"]

    def test_a_task_augmented_call_is_answered_at_once(self, mcp_url, mcp_upstream):
        mcp_upstream.answer("GET", "/ships", Answer(200, [{"imo_number": "IMO1"}]))
        client, _ = self.session(f"{mcp_url}/mcp/fleet-tools")
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "list-ships", "arguments": {}, "task": {"ttl": 60000}},
        }
        result = client.post("", json=call).json()["result"]
        assert "task" not in result
        assert result["isError"] is False
        assert json.loads(result["content"][0]["text"])[0]["imo"] == "IMO1"

    def test_tasks_get_is_not_a_method(self, mcp_url):
        client, _ = self.session(f"{mcp_url}/mcp/fleet-tools")
        answer = client.post(
            "", json={"jsonrpc": "2.0", "id": 3, "method": "tasks/get", "params": {"taskId": "x"}}
        ).json()
        assert answer["error"]["code"] == -32601
