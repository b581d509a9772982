"""Who may call what on MCP over streamable HTTP: client keys, tokens and grants.

A real ``run_mcp_server`` process with ``REGISTRY_REQUIRE_CLIENT_KEY=true``, the SDK's
own client (both protocol generations where the answer depends on it), a recording
upstream on 127.0.0.1 and a test identity provider serving its JWKS on 127.0.0.1.
"""

from __future__ import annotations

import json

import pytest
from mcp.shared.exceptions import MCPError

from tests.integration.access.mcp_stack import (
    INITIALIZE,
    MCP_PUBLIC_URL,
    MODERN_HEADERS,
    MODES,
    PUBLIC_URL,
    VAULT_TOKEN,
    api_key,
    bearer,
    call_tool,
    connect,
    make_keys,
    post,
    problem_of,
    start_registry,
    tool_call,
    tool_names,
)
from tests.integration.mcp.conftest import run
from tests.support.identity import IdentityProvider
from tests.support.upstream import Answer, RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

DESK_TOOLS = {"list-notes", "get-note", "find-note"}
METADATA = f"{MCP_PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/desk-mcp"
REFUSED = -32003  # the JSON-RPC error code of a registry refusal (docs/access.md, MCP)

KEYS = {
    "desk-all": {"grants": ["desk"]},
    "desk-all-too": {"grants": ["desk"]},
    "yard-only": {"grants": ["yard"]},
    "one-tool": {"grants": ["desk:list-notes"]},
    "resource-and-prompt": {"grants": ["desk:all-notes", "desk:summarize"]},
    "revoked": {"grants": ["desk"], "revoked": True},
    "expired": {"grants": ["desk"], "expired": True},
    "vault-key": {"grants": ["vault"]},
    "limited": {"grants": ["desk"], "rate_limit": "2/minute"},
}


@pytest.fixture(scope="module")
def recording():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, recording, idp):
    process = start_registry(
        tmp_path_factory.mktemp("mcp-access"),
        recording.url,
        REGISTRY_OAUTH_ISSUER=idp.issuer,
        REGISTRY_OAUTH_JWKS_URL=idp.jwks_url,
        REGISTRY_RATE_LIMIT="1000/minute",
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def secrets(registry) -> dict[str, str]:
    return make_keys(registry, KEYS)


@pytest.fixture(scope="module")
def server(registry, secrets) -> str:
    return registry.start_mcp()


@pytest.fixture
def desk(server) -> str:
    return f"{server}/mcp/desk-mcp"


def nothing_reached(recording, before: int) -> bool:
    return len(recording.received) == before


class TestNoOrBadCredential:
    """Issue 10 point 2: on MCP over HTTP a request without an accepted credential is an
    HTTP 401 problem with a challenge, before any MCP message is handled."""

    def test_no_credential_is_401_with_the_resource_metadata(self, desk, recording):
        before = len(recording.received)
        for body, extra in ((INITIALIZE, {}), (tool_call("list-notes"), MODERN_HEADERS)):
            response = post(desk, body, extra)
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "not_authenticated"
            assert response.headers["www-authenticate"] == (
                f'Bearer resource_metadata="{METADATA}"'
            )
        assert nothing_reached(recording, before)

    @pytest.mark.parametrize("mode", MODES)
    def test_the_sdk_client_without_a_key_gets_only_401s(self, desk, secrets, mode):
        async def use(client):
            return await client.list_tools()

        for headers in ({}, bearer(secrets["revoked"])):
            statuses: list[int] = []
            with pytest.raises(ExceptionGroup) as raised:  # the client's task group
                run(connect(desk, use, headers=headers, mode=mode, statuses=statuses))
            assert raised.group_contains(MCPError)
            assert statuses and set(statuses) == {401}

    def test_a_wrong_key_is_401(self, desk, secrets):
        wrong = secrets["desk-all"][:-4] + "AAAA"
        for headers in (bearer(wrong), api_key(wrong), bearer("not-a-key-at-all")):
            response = post(desk, INITIALIZE, headers)
            assert response.status_code == 401, headers
            assert response.json()["code"] == "invalid_client_key"
            challenge = response.headers["www-authenticate"]
            assert challenge == f'Bearer error="invalid_token", resource_metadata="{METADATA}"'
            assert wrong not in response.text

    @pytest.mark.parametrize(("name", "said"), [("revoked", "was revoked"), ("expired", "expired")])
    def test_a_revoked_or_expired_key_is_401(self, desk, secrets, recording, name, said):
        before = len(recording.received)
        for headers in (bearer(secrets[name]), api_key(secrets[name])):
            response = post(desk, tool_call("list-notes"), {**MODERN_HEADERS, **headers})
            assert response.status_code == 401
            problem = response.json()
            assert problem["code"] == "invalid_client_key"
            assert said in problem["detail"]
            assert secrets[name][:12] in problem["detail"]  # its prefix, never the key
            assert secrets[name] not in response.text
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert nothing_reached(recording, before)

    def test_another_capabilitys_key_is_403_before_any_mcp_message(self, desk, secrets, recording):
        before = len(recording.received)
        for body, extra in ((INITIALIZE, {}), (tool_call("list-notes"), MODERN_HEADERS)):
            response = post(desk, body, {**extra, **bearer(secrets["yard-only"])})
            assert response.status_code == 403
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "not_granted"
            assert "desk" in response.json()["detail"]
        assert nothing_reached(recording, before)

    def test_the_key_of_another_capability_works_there(self, server, secrets, recording):
        recording.answer("GET", "/boats", Answer(200, {"boats": 3}))
        result = call_tool(
            f"{server}/mcp/yard-mcp", api_key(secrets["yard-only"]), "list-boats", {}
        )
        assert result.structured_content == {"boats": 3}

    def test_a_foreign_host_is_refused_before_the_key_is_asked_for(self, desk):
        """DNS-rebinding protection answers first, as without keys."""
        response = post(desk, INITIALIZE, host="evil.example")
        assert response.status_code in (403, 421)
        assert "www-authenticate" not in response.headers


class TestStatelessServer:
    """``run_mcp_server --stateless`` (no sessions, every request stands alone) admits
    and scopes each request the same way."""

    @pytest.fixture(scope="class")
    @classmethod
    def stateless(cls, registry, secrets) -> str:
        return registry.start_mcp("--stateless") + "/mcp/desk-mcp"

    @pytest.mark.parametrize("mode", MODES)
    def test_scoped_and_refused_without_sessions(self, stateless, secrets, recording, mode):
        assert post(stateless, INITIALIZE).status_code == 401
        assert post(stateless, INITIALIZE, bearer(secrets["yard-only"])).status_code == 403
        assert tool_names(stateless, api_key(secrets["one-tool"]), mode) == {"list-notes"}
        before = len(recording.received)
        result = call_tool(stateless, api_key(secrets["one-tool"]), "get-note", {"id": "x"}, mode)
        assert problem_of(result)["code"] == "not_granted"
        assert nothing_reached(recording, before)


class TestHeaderForms:
    """Issue 10 point 1: ``Authorization: Bearer <key>`` and ``X-API-Key: <key>``."""

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("form", [bearer, api_key])
    def test_each_header_form_lists_and_calls(self, desk, secrets, recording, mode, form):
        recording.answer("GET", "/notes/n-1", Answer(200, {"id": "n-1", "text": "hi"}))
        headers = form(secrets["desk-all"])
        assert tool_names(desk, headers, mode) == DESK_TOOLS
        before = len(recording.received)
        result = call_tool(desk, headers, "get-note", {"id": "n-1"}, mode)
        assert result.structured_content == {"id": "n-1", "text": "hi"}
        (received,) = recording.received[before:]
        assert received.path == "/notes/n-1"
        # The caller's key never reaches the upstream, in any header.
        assert all(secrets["desk-all"] not in value for _, value in received.header_lines)


class TestScopedViews:
    """Issue 10 point 4: a client sees and calls only what its grants allow."""

    @pytest.mark.parametrize("mode", MODES)
    def test_a_key_granted_one_tool_sees_exactly_that_tool(self, desk, secrets, mode):
        assert tool_names(desk, bearer(secrets["one-tool"]), mode) == {"list-notes"}

    @pytest.mark.parametrize("mode", MODES)
    def test_calling_a_tool_not_granted_is_a_403_result_and_reaches_no_upstream(
        self, desk, secrets, recording, mode
    ):
        before = len(recording.received)
        for name in ("get-note", "no-such-tool"):  # hidden and unknown look the same
            result = call_tool(desk, bearer(secrets["one-tool"]), name, {"id": "n-1"}, mode)
            problem = problem_of(result)
            assert (problem["status"], problem["code"]) == (403, "not_granted")
            assert f"desk:{name}" in problem["detail"]
        assert nothing_reached(recording, before)

    def test_the_granted_tool_is_called(self, desk, secrets, recording):
        recording.answer("GET", "/notes", Answer(200, {"notes": []}))
        result = call_tool(desk, bearer(secrets["one-tool"]), "list-notes", {})
        assert result.is_error is False
        assert result.structured_content == {"notes": []}

    @pytest.mark.parametrize("mode", MODES)
    def test_resources_and_prompts_are_scoped_too(self, desk, secrets, mode):
        async def use(client):
            return (
                {t.name for t in (await client.list_tools()).tools},
                {r.name for r in (await client.list_resources()).resources},
                {t.name for t in (await client.list_resource_templates()).resource_templates},
                {p.name for p in (await client.list_prompts()).prompts},
            )

        scoped = run(connect(desk, use, headers=bearer(secrets["resource-and-prompt"]), mode=mode))
        assert scoped == (set(), {"all-notes"}, set(), {"summarize"})
        everything = run(connect(desk, use, headers=bearer(secrets["desk-all"]), mode=mode))
        assert everything == (DESK_TOOLS, {"all-notes"}, {"one-note"}, {"summarize", "greet"})

    @pytest.mark.parametrize("mode", MODES)
    def test_reading_or_getting_what_is_not_granted_is_a_json_rpc_error(
        self, desk, secrets, recording, mode
    ):
        recording.answer("GET", "/notes", Answer(200, {"notes": ["a"]}))

        async def use(client):
            granted = await client.read_resource("notes://all")
            prompt = await client.get_prompt("summarize", {"topic": "boats"})
            refused = []
            for attempt in (
                lambda: client.read_resource("notes://n-1"),  # a template not granted
                lambda: client.read_resource("notes://nowhere/at/all"),  # matches nothing
                lambda: client.get_prompt("greet", {}),
                lambda: client.get_prompt("no-such-prompt", {}),
            ):
                with pytest.raises(MCPError) as error:
                    await attempt()
                refused.append(error.value)
            return granted, prompt, refused

        before = len(recording.received)
        granted, prompt, refused = run(
            connect(desk, use, headers=bearer(secrets["resource-and-prompt"]), mode=mode)
        )
        assert json.loads(granted.contents[0].text) == {"notes": ["a"]}
        assert prompt.messages[0].content.text == "Summarize the notes on boats."
        for error in refused:
            assert error.code == REFUSED
            assert error.data["status"] == 403
            assert error.data["code"] == "not_granted"
        assert len(recording.received) == before + 1  # the granted read only

    def test_a_task_belongs_to_the_key_that_created_it(self, desk, secrets, recording):
        """An MCP task (2026-07-28 extension) is the creating client's: another key
        granted the same capability cannot read it."""
        from tests.support.mcp_tasks import TasksExtension, request

        recording.answer("GET", "/notes/n-7", Answer(200, {"id": "n-7"}))
        tasks = TasksExtension()
        result = run(
            connect(
                desk,
                lambda client: client.call_tool("get-note", {"id": "n-7"}),
                headers=bearer(secrets["desk-all"]),
                mode="2026-07-28",
                extensions=[tasks],
            )
        )
        assert result.structured_content == {"id": "n-7"}
        (created,) = tasks.created

        async def read(client):
            try:
                return await request(client.session, "tasks/get", created.task_id)
            except MCPError as error:  # inside the client, before its task group wraps it
                return error

        def read_as(secret: str):
            return run(
                connect(
                    desk,
                    read,
                    headers=bearer(secret),
                    mode="2026-07-28",
                    extensions=[TasksExtension()],
                )
            )

        assert read_as(secrets["desk-all"])["status"] == "completed"
        refused = read_as(secrets["desk-all-too"])
        assert isinstance(refused, MCPError)
        assert "Task not found" in refused.message


class TestRateLimit:
    """Issue 10 point 5 on MCP: ``tools/call``, ``resources/read`` and ``prompts/get``
    count (lists and discovery do not); over the limit a tool answers an ``isError``
    result with the 429 problem, a read or a prompt a JSON-RPC error."""

    def test_over_the_limit_a_tool_call_is_a_429_result(self, desk, secrets, recording):
        recording.answer("GET", "/notes", Answer(200, {"notes": []}))
        headers = bearer(secrets["limited"])

        async def use(client):
            for _ in range(5):  # listing is not counted
                await client.list_tools()
            calls = [await client.call_tool("list-notes", {}) for _ in range(3)]
            with pytest.raises(MCPError) as read:
                await client.read_resource("notes://all")
            with pytest.raises(MCPError) as prompt:
                await client.get_prompt("greet", {})
            return calls, read.value, prompt.value

        before = len(recording.calls("GET", "/notes"))
        (first, second, third), read, prompt = run(connect(desk, use, headers=headers))
        assert first.is_error is False and second.is_error is False
        problem = problem_of(third)
        assert problem["status"] == 429
        assert "retry" in problem["detail"].lower()
        for error in (read, prompt):
            assert error.code == REFUSED
            assert error.data["status"] == 429
        assert len(recording.calls("GET", "/notes")) == before + 2


class TestExposeAuthentication:
    """Issue 10 point 2: an expose that declares its own ``authentication`` keeps it;
    by default that credential alone admits (REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH off)."""

    def test_the_expose_credential_works_without_a_registry_key(self, server, recording):
        recording.answer("GET", "/vault", Answer(200, {"open": True}))
        result = call_tool(f"{server}/mcp/vault-mcp", bearer(VAULT_TOKEN), "open-vault", {})
        assert result.structured_content == {"open": True}

    def test_a_registry_key_is_not_the_expose_credential(self, server, secrets):
        response = post(f"{server}/mcp/vault-mcp", INITIALIZE, bearer(secrets["vault-key"]))
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        response = post(f"{server}/mcp/vault-mcp", INITIALIZE)
        assert response.status_code == 401


class TestAccessTokens:
    """Issue 10 point 3 on MCP: JWT access tokens from the configured issuer, audience
    the MCP resource's URL (RFC 8707), scopes mapped to grants."""

    AUDIENCE = f"{MCP_PUBLIC_URL}/mcp/desk-mcp"

    def test_a_valid_token_lists_and_calls(self, desk, idp, recording):
        recording.answer("GET", "/notes", Answer(200, {"notes": ["t"]}))
        token = idp.token(audience=self.AUDIENCE, scope="capability:desk")
        assert tool_names(desk, bearer(token)) == DESK_TOOLS
        before = len(recording.received)
        result = call_tool(desk, bearer(token), "list-notes", {})
        assert result.structured_content == {"notes": ["t"]}
        (received,) = recording.received[before:]
        assert all(token not in value for _, value in received.header_lines)

    def test_a_token_scoped_to_one_tool_sees_that_tool(self, desk, idp, recording):
        token = idp.token(audience=self.AUDIENCE, scope="capability:desk:list-notes")
        assert tool_names(desk, bearer(token)) == {"list-notes"}
        before = len(recording.received)
        problem = problem_of(call_tool(desk, bearer(token), "get-note", {"id": "n-1"}))
        assert (problem["status"], problem["code"]) == (403, "insufficient_scope")
        assert "capability:desk:get-note" in problem["detail"]
        assert nothing_reached(recording, before)

    @pytest.mark.parametrize(
        "minted",
        [
            pytest.param({"lifetime": -60}, id="expired"),
            pytest.param({"audience": f"{PUBLIC_URL}/rest/desk-mcp"}, id="rest-audience"),
            pytest.param({"audience": f"{PUBLIC_URL}/rest/desk"}, id="another-resource"),
            pytest.param({"issuer": "https://elsewhere.example/"}, id="wrong-issuer"),
            pytest.param({"other_key": True}, id="unknown-signing-key"),
        ],
    )
    def test_a_token_that_does_not_verify_is_401(self, desk, idp, recording, minted):
        token = idp.token(**{"audience": self.AUDIENCE, "scope": "capability:desk", **minted})
        before = len(recording.received)
        response = post(desk, tool_call("list-notes"), {**MODERN_HEADERS, **bearer(token)})
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert 'error="invalid_token"' in challenge
        assert f'resource_metadata="{METADATA}"' in challenge
        assert token not in response.text
        assert nothing_reached(recording, before)

    def test_insufficient_scope_is_403_naming_the_scope(self, desk, idp, recording):
        token = idp.token(audience=self.AUDIENCE, scope="capability:yard")
        before = len(recording.received)
        response = post(desk, INITIALIZE, bearer(token))
        assert response.status_code == 403
        assert response.json()["code"] == "insufficient_scope"
        challenge = response.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert 'scope="capability:desk"' in challenge
        assert f'resource_metadata="{METADATA}"' in challenge
        assert nothing_reached(recording, before)
