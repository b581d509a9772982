"""One MCP expose over stdio: the command as a subprocess of the SDK's own client."""

from __future__ import annotations

import json
import subprocess

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import ROOT
from tests.integration.mcp.conftest import run
from tests.support.processes import MANAGE

pytestmark = pytest.mark.processes  # see tests/conftest.py


def server(registry, namespace: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=MANAGE[0],
        args=[*MANAGE[1:], "run_mcp_server", "--transport", "stdio", "--namespace", namespace],
        cwd=str(ROOT),
        env={k: v for k, v in registry.env.items() if isinstance(v, str)},
    )


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_tools_and_a_call_over_stdio(registry, mcp_upstream, mode):
    async def use():
        async with Client(server(registry, "prefect-account-billing-mcp"), mode=mode) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("get-billing-details", {"account_id": "acc-7"})
            return tools, result

    before = len(mcp_upstream.received)
    tools, result = run(use())
    hints = {t.name: t.annotations for t in tools}
    assert len(hints) == 8
    details = hints["get-billing-details"]
    assert (details.read_only_hint, details.destructive_hint, details.idempotent_hint) == (
        True,
        False,
        True,
    )
    assert result.is_error is False
    (received,) = mcp_upstream.received[before:]
    assert (received.method, received.path) == ("GET", "/api/billing/acc-7/details")
    assert json.loads(result.content[0].text)["path"] == "/api/billing/acc-7/details"


def test_a_declaring_client_gets_a_task_over_stdio(registry, mcp_upstream):
    """MCP tasks (2026-07-28 extension) over stdio: the call becomes a job (eager here)."""
    from tests.support.mcp_tasks import TasksExtension

    tasks = TasksExtension()

    async def use():
        params = server(registry, "prefect-account-billing-mcp")
        async with Client(params, mode="2026-07-28", extensions=[tasks]) as client:
            return await client.call_tool("get-billing-details", {"account_id": "acc-9"})

    before = len(mcp_upstream.received)
    result = run(use())
    (created,) = tasks.created
    assert created.status == "completed"  # no broker: the job ran during the call
    assert result.is_error is False
    assert json.loads(result.content[0].text)["path"] == "/api/billing/acc-9/details"
    (received,) = mcp_upstream.received[before:]
    assert received.path == "/api/billing/acc-9/details"
    kind = registry.manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from capabilities_app.store.models import Job; "
        f"print(Job.objects.get(pk='{created.task_id}').kind)",
    ).stdout.strip()
    assert kind == "tool"


def test_stdout_carries_json_rpc_only(registry):
    """Everything the server writes on stdout is one JSON-RPC message per line."""
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }
    params = server(registry, "fleet-tools")
    completed = subprocess.run(
        [params.command, *params.args],
        input=json.dumps(request) + "\n",
        env=params.env,
        cwd=params.cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert lines, completed.stderr
    messages = [json.loads(line) for line in lines]
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    assert messages[0]["result"]["serverInfo"]["name"] == "fleet-tools"


def test_stdio_needs_exactly_one_known_namespace(registry):
    missing = registry.manage("run_mcp_server", "--transport", "stdio", check=False)
    assert missing.returncode != 0
    assert "exactly one --namespace" in missing.stderr
    unknown = registry.manage(
        "run_mcp_server", "--transport", "stdio", "--namespace", "nope", check=False
    )
    assert unknown.returncode != 0
    assert "no enabled MCP expose has the namespace 'nope'" in unknown.stderr
