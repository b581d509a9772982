"""In the MCP process: what a client is shown is built once per grant set, and a warm
key is checked from memory on the event loop (no database, no worker thread)."""

from __future__ import annotations

import asyncio

import pytest

from capabilities_app.access import admission, keytable
from capabilities_app.access.clients import Client, Grants
from capabilities_app.access.keytable import NotInMemory
from capabilities_app.core.errors import KeyNotAccepted
from capabilities_app.mcp import server as mcp_server
from capabilities_app.mcp.server import RegistryServer, visible
from capabilities_app.runtime import catalog
from capabilities_app.runtime.catalog import get_catalog
from tests.integration.access.mcp_stack import DESK, YARD
from tests.integration.rest.conftest import load
from tests.support.keys import make_key

pytestmark = pytest.mark.django_db


def client(name: str, *grants: str, kind: str = "key") -> Client:
    return Client(id=f"{kind}:{name}", name=name, grants=Grants.parse(grants), kind=kind)


@pytest.fixture
def served(settings):
    settings.REGISTRY_CATALOG_CHECK_SECONDS = 60  # a stamp read stays fresh within a test
    load(DESK, name="desk")
    load(YARD, name="yard")
    return get_catalog().mcp["desk-mcp"]


class TestListsPerGrantSet:
    """Issue 10 point 4: the list is cached per grant set, not rebuilt per request."""

    def test_clients_with_the_same_grants_in_the_capability_share_one_list(self, served):
        server = RegistryServer("desk-mcp", None)
        one = client("one", "desk:list-notes", "yard")
        same = client("same", "desk:list-notes")  # other grants elsewhere do not matter
        other = client("other", "desk:get-note")
        shown = server.view(served, "tools", visible(one, "desk"))
        assert [tool.name for tool in shown] == ["list-notes"]
        assert server.view(served, "tools", visible(same, "desk")) is shown
        assert [t.name for t in server.view(served, "tools", visible(other, "desk"))] == [
            "get-note"
        ]
        everything = server.view(served, "tools", visible(client("all", "desk"), "desk"))
        assert server.view(served, "tools", visible(None, "desk")) is everything
        assert len(everything) == 3

    def test_the_lists_kept_are_bounded(self, served):
        server = RegistryServer("desk-mcp", None)
        for n in range(mcp_server.VIEWS_KEPT + 50):
            server.view(served, "prompts", frozenset({"summarize", f"prompt-{n}"}))
        assert len(server._views[1]) == mcp_server.VIEWS_KEPT

    def test_a_new_catalog_version_builds_new_lists(self, served):
        server = RegistryServer("desk-mcp", None)
        before = server.view(served, "tools", None)
        load(DESK.replace("List the notes", "List every note"), name="desk")
        catalog.reset()
        changed = get_catalog().mcp["desk-mcp"]
        after = server.view(changed, "tools", None)
        assert after is not before
        assert {t.name: t.description for t in after}["list-notes"] == "List every note"


class TestMcpParamCheck:
    """The SDK's Mcp-Param header check gets no schema of a tool the caller may not see
    (the call is refused 403; a header check would tell what the tool declares)."""

    def test_a_hidden_tools_schema_is_not_given(self, served):
        server = RegistryServer("desk-mcp", None)
        token = mcp_server.admitted.set(client("one", "desk:list-notes"))
        try:
            assert server.tool_input_schema("list-notes") is not None
            assert server.tool_input_schema("get-note") is None
        finally:
            mcp_server.admitted.reset(token)
        assert server.tool_input_schema("get-note")["required"] == ["id"]  # the operator


class TestKeyCheckOnTheEventLoop:
    """Issue 10 budget: a warm key is checked from memory; Django refuses any query made
    on a running event loop, so these checks would fail if one were made."""

    @pytest.fixture
    def door(self, served, settings) -> admission.Door:
        settings.REGISTRY_REQUIRE_CLIENT_KEY = True
        settings.REGISTRY_CLIENT_KEY_TOUCH_SECONDS = 60
        self.headers = {"x-api-key": make_key("desk-key", "desk")}
        catalog.reset()
        keytable.reset()
        get_catalog()  # the stamp read, as the gateway's first request reads it
        return admission.Door("mcp", "desk-mcp", served.capability)

    @staticmethod
    def on_the_loop(door, headers):
        async def check():
            return admission.identify_in_memory(door, headers)

        return asyncio.run(check())

    def test_a_cold_table_is_left_to_a_thread(self, door):
        with pytest.raises(NotInMemory):
            self.on_the_loop(door, self.headers)

    def test_a_warm_key_is_answered_from_memory(self, door):
        admission.identify(door, self.headers)  # in a thread: the table built, use recorded
        found = self.on_the_loop(door, self.headers)
        assert found.name == "desk-key"
        assert found.grants.allows("desk", "get-note")

    def test_a_wrong_key_is_refused_from_memory(self, door):
        admission.identify(door, self.headers)
        with pytest.raises(KeyNotAccepted):
            self.on_the_loop(door, {"x-api-key": self.headers["x-api-key"][:-2] + "zz"})

    def test_a_last_use_to_record_is_left_to_a_thread(self, door, settings):
        admission.identify(door, self.headers)
        settings.REGISTRY_CLIENT_KEY_TOUCH_SECONDS = 0
        with pytest.raises(NotInMemory):
            self.on_the_loop(door, self.headers)

    def test_an_access_token_is_left_to_a_thread(self, door, settings):
        settings.REGISTRY_OAUTH_ISSUER = "https://issuer.example/"
        settings.REGISTRY_OAUTH_JWKS_URL = "https://issuer.example/jwks.json"
        admission.identify(door, self.headers)
        with pytest.raises(NotInMemory):
            self.on_the_loop(door, {"authorization": "Bearer aaa.bbb.ccc"})
