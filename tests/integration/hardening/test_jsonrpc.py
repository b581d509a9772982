"""JSON-RPC envelopes the MCP surface must refuse as Invalid Request (issue 9 point 21).

JSON-RPC 2.0 §5.1: a message that is not a valid Request object (``"jsonrpc"`` other than
exactly ``"2.0"``, or missing) is -32600 Invalid Request, with the request's id when it
can be read, null otherwise. Tried with raw HTTP POSTs against a real MCP server process
and raw lines to a real stdio server process.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, SHIPYARD
from tests.support.processes import MANAGE
from tests.support.registry_process import RegistryProcess

pytestmark = pytest.mark.processes  # see tests/conftest.py

INVALID_REQUEST = -32600
PARSE_ERROR = -32700
LEGACY = {}  # no MCP-Protocol-Version header: the 2025 handshake transport
MODERN = {"MCP-Protocol-Version": "2026-07-28"}

# (message, the id the error must carry)
BAD = [
    ({"jsonrpc": "1.0", "id": 7, "method": "ping"}, 7),
    ({"id": 8, "method": "tools/list"}, 8),
    ({"jsonrpc": 2.0, "id": "call-9", "method": "ping"}, "call-9"),
    ({"jsonrpc": "2.0 ", "id": 10, "method": "ping"}, 10),
    ({"jsonrpc": "1.0", "method": "notifications/initialized"}, None),
    ({"jsonrpc": "1.0", "id": {"not": "an id"}, "method": "ping"}, None),
]

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


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    process = RegistryProcess(tmp_path_factory.mktemp("jsonrpc"))
    process.import_document(SHIPYARD, name="shipyard", base_uri="http://127.0.0.1:9")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def mcp(registry) -> str:
    return registry.start_mcp() + "/mcp/fleet-tools"


def post(url: str, message: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        url,
        content=json.dumps(message),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
        timeout=30,
    )


@pytest.mark.parametrize("era", [LEGACY, MODERN], ids=["legacy", "modern"])
@pytest.mark.parametrize(("message", "expected_id"), BAD)
def test_a_message_that_is_not_json_rpc_2_is_an_invalid_request_over_http(
    mcp, era, message, expected_id
):
    """Issue 9 point 21: ``"jsonrpc": "1.0"`` (or none) is -32600 Invalid Request (was -32602)."""
    response = post(mcp, message, era)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["jsonrpc"] == "2.0"
    assert answer["error"]["code"] == INVALID_REQUEST, answer
    assert answer["id"] == expected_id


def test_a_valid_message_still_reaches_the_server_over_http(mcp):
    """Issue 9 point 21: the envelope check re-feeds a valid body to the SDK unchanged."""
    response = post(mcp, INITIALIZE, LEGACY)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]["name"] == "fleet-tools"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_the_envelope_check_keeps_the_sdk_body_limit(mcp, declared):
    """Issue 9 point 21: reading the body first never lifts the SDK's 4 MiB limit (413)."""
    body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": "ping", "x": "y" * (5 * 2**20)})
    response = httpx.post(
        mcp,
        content=body.encode() if declared else iter([body.encode()]),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        timeout=30,
    )
    assert response.status_code == 413


class StdioServer:
    """``run_mcp_server --transport stdio`` driven with raw lines."""

    def __init__(self, registry: RegistryProcess, namespace: str) -> None:
        self.process = subprocess.Popen(
            [*MANAGE, "run_mcp_server", "--transport", "stdio", "--namespace", namespace],
            env=registry.env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def send(self, message: Any) -> None:
        self.send_line(json.dumps(message))

    def send_line(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def until(self, request_id: int) -> list[dict[str, Any]]:
        """Every message up to and including the answer to ``request_id`` (60 s at most)."""
        seen = []
        while True:
            try:
                message = json.loads(self.lines.get(timeout=60))
            except queue.Empty:
                raise AssertionError(f"no answer to id {request_id}; got {seen}") from None
            seen.append(message)
            if message.get("id") == request_id and ("result" in message or "error" in message):
                return seen

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def stdio(registry):
    server = StdioServer(registry, "fleet-tools")
    server.send(INITIALIZE)
    server.until(1)
    server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    yield server
    server.stop()


def test_a_message_that_is_not_json_rpc_2_is_an_invalid_request_over_stdio(stdio):
    """Issue 9 point 21: over stdio too, each bad line is answered -32600 (it was dropped
    without an answer), in order, and the session goes on."""
    for message, _ in BAD:
        stdio.send(message)
    stdio.send_line("")  # a blank line is no message: no answer
    stdio.send_line('{"jsonrpc": "2.0", "id": 12, "method": ')  # not JSON: -32700
    stdio.send({"jsonrpc": "2.0", "id": 99, "method": "ping"})
    seen = stdio.until(99)
    errors = [m for m in seen if "error" in m]
    assert [(m["id"], m["error"]["code"]) for m in errors] == [
        *((expected_id, INVALID_REQUEST) for _, expected_id in BAD),
        (None, PARSE_ERROR),
    ], seen
    assert seen[-1] == {"jsonrpc": "2.0", "id": 99, "result": {}}
