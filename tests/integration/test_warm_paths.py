"""The warm REST and MCP paths read no database and build no outbound client (issue 12).

"Warm" is a call after the catalog, the key table and the outbound client exist: it
must be answered from memory and over a pooled upstream connection. Measured for real:
every query any thread of this process runs is counted (Django's cursor, wrapped), and
the upstream on 127.0.0.1 counts the TCP connections it accepts, so a client built per
call (or a pool that does not keep its connections) shows as one connection per call.

The MCP server runs in this process (the gateway under uvicorn, in a thread) so that
its queries are counted too; the SDK's client calls it over streamable HTTP.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from django.db.backends import utils as db_utils
from django.test import Client

from capabilities_app.mcp.gateway import Gateway
from capabilities_app.mcp.probes import Probes
from capabilities_app.runtime import upstream as outbound
from capabilities_app.runtime.requests import client as outbound_client
from tests.conftest import SHIPYARD
from tests.integration.access.mcp_stack import bearer, connect
from tests.integration.rest.conftest import load
from tests.support.keys import make_key
from tests.support.upstream import Answer, RecordingUpstream

SHIP = {"imo_number": "IMO-1", "vessel_name": "Aurora", "operational_status": "active"}
CALLS = 20


@dataclass
class Queries:
    count: int = 0
    statements: list[str] = field(default_factory=list)


@pytest.fixture
def queries(monkeypatch) -> Iterator[Queries]:
    """Every query of every thread of this process, counted as it runs."""
    seen = Queries()
    lock = threading.Lock()
    original = db_utils.CursorWrapper._execute_with_wrappers

    def counting(self, sql, params, many, executor):
        with lock:
            seen.count += 1
            seen.statements.append(sql)
        return original(self, sql, params, many, executor)

    monkeypatch.setattr(db_utils.CursorWrapper, "_execute_with_wrappers", counting)
    yield seen


class CountingUpstream(RecordingUpstream):
    """The recording upstream, counting the TCP connections it accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0
        server, owner = self.server, self

        def counted(request, client_address):
            with owner.lock:
                owner.connections += 1
            type(server).process_request(server, request, client_address)

        server.process_request = counted  # type: ignore[method-assign]


@pytest.fixture
def fleet_upstream(monkeypatch) -> Iterator[CountingUpstream]:
    monkeypatch.setenv("FLEET_TOKEN", "fleet-token")
    server = CountingUpstream().start()
    server.answer("GET", "/ships/IMO-1", Answer(200, SHIP))
    yield server
    server.stop()


@pytest.fixture
def keyed(settings):
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    settings.REGISTRY_CATALOG_CHECK_SECONDS = 3600
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]


@pytest.mark.django_db
def test_warm_rest_calls_read_no_database_and_reuse_one_connection(keyed, fleet_upstream, queries):
    load(SHIPYARD, base_uri=fleet_upstream.url)
    key = make_key("warm", "shipyard-fleet")
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}")
    for _ in range(2):  # builds the catalog, the key table, the client; records the key's use
        assert api.get("/rest/fleet-api/ships/IMO-1").status_code == 200
    client, connections, before = outbound_client(), fleet_upstream.connections, queries.count

    answers = [api.get("/rest/fleet-api/ships/IMO-1") for _ in range(CALLS)]

    assert [a.status_code for a in answers] == [200] * CALLS
    assert answers[-1].json()["name"] == "Aurora"  # mapped, not passed through
    assert queries.count == before, queries.statements[before:]
    assert outbound_client() is client
    assert fleet_upstream.connections == connections  # every call on the pooled connection
    assert len(fleet_upstream.calls("GET", "/ships/IMO-1")) == CALLS + 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mcp_url(transactional_db, keyed) -> Iterator[str]:
    """The gateway (as ``run_mcp_server`` serves it) under uvicorn in a thread of this process."""
    gateway = Gateway(
        namespaces=None,
        stateless=False,
        allowed_hosts=["127.0.0.1:*"],
        allowed_origins=[],
        check_seconds=3600,
    )
    port = free_port()
    config = uvicorn.Config(
        Probes(gateway), host="127.0.0.1", port=port, lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/mcp/fleet-tools"
    server.should_exit = True
    thread.join(10)
    outbound.reset()


class Session(threading.Thread):
    """One MCP session in a thread of its own: two warm-up calls, then ``CALLS`` when told."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.warm, self.go = threading.Event(), threading.Event()
        self.results: list = []

    def run(self) -> None:
        async def use(client) -> None:
            for _ in range(2):
                await client.call_tool("get-ship", {"imo": "IMO-1"})
            self.warm.set()
            await asyncio.to_thread(self.go.wait, 60)
            for _ in range(CALLS):
                self.results.append(await client.call_tool("get-ship", {"imo": "IMO-1"}))

        asyncio.run(connect(self.url, use, headers=bearer(self.key)))


def test_warm_mcp_calls_read_no_database_and_reuse_one_connection(mcp_url, fleet_upstream, queries):
    load(SHIPYARD, base_uri=fleet_upstream.url)
    key = make_key("warm", "shipyard-fleet")
    session = Session(mcp_url, key)
    session.start()
    assert session.warm.wait(30), "the warm-up calls failed"
    client, connections, before = outbound_client(), fleet_upstream.connections, queries.count
    session.go.set()
    session.join(60)

    results = session.results
    assert len(results) == CALLS
    assert not any(result.is_error for result in results), results[-1]
    assert "Aurora" in str(results[-1].structured_content or results[-1].content)
    assert queries.count == before, queries.statements[before:]
    assert outbound_client() is client
    assert fleet_upstream.connections == connections
    assert len(fleet_upstream.calls("GET", "/ships/IMO-1")) == CALLS + 2
