"""A client written against another stack: the MCP Inspector's CLI (Node, the TypeScript SDK).

The Inspector is installed from the npm registry into ``var/node/<version>`` on first
use (about 15 s) and reused after. Without npm the test is skipped, except on CI
(``CI=true``), where a missing npm is a failure. The CLI's ``--header`` (0.16.8)
carries the client key a registry that requires keys asks for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, SHIPYARD
from tests.integration.mcp.conftest import FLEET_TOKEN
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import Answer

pytestmark = pytest.mark.processes  # see tests/conftest.py

VERSION = "0.16.8"
INSPECTOR = f"@modelcontextprotocol/inspector@{VERSION}"
PREFIX = ROOT / "var" / "node" / VERSION  # a folder per version: an older install is not reused
BINARY = PREFIX / "node_modules" / ".bin" / "mcp-inspector"


@pytest.fixture(scope="module")
def inspector() -> str:
    if shutil.which("npm") is None:
        reason = "npm is not installed: the MCP Inspector cannot be run"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: a failure, not a skip)")
        pytest.skip(reason)
    if not BINARY.exists():
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund", INSPECTOR],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return str(BINARY)


def run_cli(inspector: str, url: str, *args: str) -> dict:
    completed = subprocess.run(
        [inspector, "--cli", url, "--transport", "http", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout)


def test_the_inspector_lists_and_calls_a_tool(inspector, mcp_url, mcp_upstream):
    # The Inspector's CLI wants a URL ending in /mcp: the gateway also answers at /mcp/<ns>/mcp.
    url = f"{mcp_url}/mcp/fleet-tools/mcp"
    listed = run_cli(inspector, url, "--method", "tools/list")
    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert set(tools) == {"list-ships", "get-ship"}
    assert tools["get-ship"]["annotations"]["readOnlyHint"] is True
    assert tools["get-ship"]["inputSchema"]["required"] == ["imo"]

    ship = {"imo_number": "IMO-42", "vessel_name": "Inspector Gadget", "gross_tonnage": 9}
    mcp_upstream.answer("GET", "/ships/IMO-42", Answer(200, ship))
    before = len(mcp_upstream.received)
    called = run_cli(
        inspector,
        url,
        "--method",
        "tools/call",
        "--tool-name",
        "get-ship",
        "--tool-arg",
        "imo=IMO-42",
    )
    assert called["isError"] is False
    assert called["structuredContent"] == {"imo": "IMO-42", "name": "Inspector Gadget"}
    (received,) = mcp_upstream.received[before:]
    assert received.path == "/ships/IMO-42"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, mcp_upstream):
    """A registry that requires client keys, serving the fleet tools; a key granted them."""
    from tests.integration.access.mcp_stack import make_keys

    registry = RegistryProcess(
        tmp_path_factory.mktemp("inspector-keys"),
        REGISTRY_REQUIRE_CLIENT_KEY="true",
        FLEET_TOKEN=FLEET_TOKEN,
    )
    registry.import_document(SHIPYARD, name=SHIPYARD.stem, base_uri=mcp_upstream.url)
    secret = make_keys(registry, {"inspector": {"grants": [SHIPYARD.stem]}})["inspector"]
    yield registry.start_mcp() + "/mcp/fleet-tools/mcp", secret
    registry.stop()


def test_the_inspector_connects_with_a_key(inspector, keyed, mcp_upstream):
    """Issue 10: the MCP Inspector CLI connects with a key (its --header option)."""
    url, secret = keyed
    without = subprocess.run(
        [inspector, "--cli", url, "--transport", "http", "--method", "tools/list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert without.returncode != 0
    assert secret not in without.stdout + without.stderr

    listed = run_cli(inspector, url, "--header", f"X-API-Key: {secret}", "--method", "tools/list")
    assert {tool["name"] for tool in listed["tools"]} == {"list-ships", "get-ship"}

    mcp_upstream.answer("GET", "/ships/IMO-7", Answer(200, {"imo_number": "IMO-7"}))
    before = len(mcp_upstream.received)
    called = run_cli(
        inspector,
        url,
        "--header",
        f"Authorization: Bearer {secret}",
        "--method",
        "tools/call",
        "--tool-name",
        "get-ship",
        "--tool-arg",
        "imo=IMO-7",
    )
    assert called["isError"] is False
    assert called["structuredContent"]["imo"] == "IMO-7"
    (received,) = mcp_upstream.received[before:]
    assert received.path == "/ships/IMO-7"
    assert all(secret not in value for _, value in received.header_lines)
