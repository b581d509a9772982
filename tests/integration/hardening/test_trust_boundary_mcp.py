"""The trust boundary over MCP (issue 9 points 1 and 5), with the SDK's own client.

A registry runs as real processes (``RegistryProcess``: its MCP server over streamable
HTTP) with bind variables in its environment; a legitimate upstream and an attacker's
record what they receive.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.mcp.conftest import run, with_client
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

SECRET = "tb-mcp-secret-77a0"
NAMESPACE = "tb-mcp"

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Trust boundary MCP, description: Bind variables come first over MCP.}
binds:
- namespace: env
  keys: {UP_HOST: TB_UP_HOST, API_TOKEN: TB_API_TOKEN}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://{{UP_HOST}}
    authentication: {type: bearer, token: '{{env.API_TOKEN}}'}
    resources:
    - name: things
      path: /things
      operations:
      - name: list
        method: GET
        inputParameters:
        - {name: q, in: query}
        - {name: X-Api-Token, in: header, value: '{{API_TOKEN}}'}
    - name: user-files
      path: /v1/users/{user_id}/files
      operations:
      - {name: list-files, method: GET}
    - name: users
      path: /users
      operations:
      - name: create
        method: POST
        body: '{"name": "{{name}}", "role": "user"}'
  exposes:
  - type: mcp
    namespace: tb-mcp
    port: 9090
    description: Trust boundary over MCP.
    tools:
    - name: list-things
      description: List things (a derived input schema).
      call: up.list
      with: {q: tools.q}
    - name: list-things-in-steps
      description: List things in one orchestration step.
      steps:
      - {type: call, name: listed, call: up.list, with: {q: tools.q}}
    - name: declared-host
      description: Declares arguments named like the bind variables; the binds still win.
      inputParameters:
      - {name: q, type: string, description: The search term}
      - {name: UP_HOST, type: string, description: Named like a bind variable}
      - {name: API_TOKEN, type: string, description: Named like a bind variable}
      call: up.list
      with: {q: tools.q}
    - name: list-files
      description: A user's files.
      call: up.list-files
      with: {user_id: tools.user_id}
    - name: create-user
      description: Create a user.
      call: up.create
      with: {name: tools.name}
"""


@pytest.fixture(scope="module")
def legit():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def attacker():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory, legit):
    process = RegistryProcess(
        tmp_path_factory.mktemp("trust-boundary-mcp"),
        TB_UP_HOST=legit.url.removeprefix("http://"),
        TB_API_TOKEN=SECRET,
    )
    process.import_document(DOCUMENT, name="trust-boundary-mcp")
    yield process.start_mcp()
    process.stop()


@pytest.fixture(autouse=True)
def clean(legit, attacker):
    legit.reset()
    attacker.reset()


def tools(url: str) -> dict:
    async def use(client):
        return {t.name: t for t in (await client.list_tools()).tools}

    return run(with_client(f"{url}/mcp/{NAMESPACE}", use))


def call(url: str, tool: str, arguments: dict):
    async def use(client):
        return await client.call_tool(tool, arguments)

    return run(with_client(f"{url}/mcp/{NAMESPACE}", use))


def problem_of(result) -> dict:
    assert result.is_error is True, result
    return json.loads(result.content[0].text)


def test_every_tool_schema_refuses_arguments_it_does_not_list(mcp_url):
    """Issue 9 point 1: ``tools/list`` input schemas set ``additionalProperties: false``."""
    listed = tools(mcp_url)
    assert set(listed) == {
        "list-things",
        "list-things-in-steps",
        "declared-host",
        "list-files",
        "create-user",
    }
    for name, tool in listed.items():
        assert tool.input_schema.get("additionalProperties") is False, name
    assert set(listed["list-things"].input_schema["properties"]) == {"q"}
    assert set(listed["list-things-in-steps"].input_schema["properties"]) == {"q"}


@pytest.mark.parametrize("tool", ["list-things", "list-things-in-steps"])
def test_an_argument_named_like_a_bind_variable_is_refused_before_any_upstream_call(
    mcp_url, legit, attacker, tool
):
    """Issue 9 point 1: ``UP_HOST`` as an MCP argument never reaches ``baseUri``."""
    attack = attacker.url.removeprefix("http://")
    result = call(mcp_url, tool, {"q": "ships", "UP_HOST": attack})
    assert [r.header("authorization") for r in attacker.received] == []
    assert legit.received == []
    problem = problem_of(result)
    assert problem["code"] == "invalid_arguments"
    assert "UP_HOST" in problem["detail"]


def test_a_declared_argument_named_like_a_bind_variable_never_shadows_it(mcp_url, legit, attacker):
    """Issue 9 point 1: even a declared ``UP_HOST``/``API_TOKEN`` argument loses to the binds."""
    attack = attacker.url.removeprefix("http://")
    result = call(
        mcp_url, "declared-host", {"q": "ships", "UP_HOST": attack, "API_TOKEN": "forged"}
    )
    assert result.is_error is False, result
    assert attacker.received == []
    received = legit.only()
    assert received.query == [("q", "ships")]
    assert received.header("authorization") == f"Bearer {SECRET}"
    assert received.header("x-api-token") == SECRET


def test_a_plain_call_still_reaches_the_bound_host_with_the_secret(mcp_url, legit, attacker):
    """Issue 9 point 1: the legitimate call is unchanged."""
    result = call(mcp_url, "list-things", {"q": "ships"})
    assert result.is_error is False, result
    assert attacker.received == []
    assert legit.only().header("authorization") == f"Bearer {SECRET}"


@pytest.mark.parametrize("value", ["..", ".", "%2e%2e", "%2E.", "a/../../admin"])
def test_a_dot_segment_as_an_mcp_path_argument_is_refused_before_any_upstream_call(
    mcp_url, legit, value
):
    """Issue 9 point 5: ``user_id: ".."`` never leaves ``/v1/users/{user_id}/files``."""
    problem = problem_of(call(mcp_url, "list-files", {"user_id": value}))
    assert problem["status"] == 400
    assert problem["code"] == "invalid_parameter"
    assert "user_id" in problem["detail"]
    assert legit.received == []


def test_an_mcp_argument_in_a_json_body_template_stays_a_string(mcp_url, legit):
    """Issue 9 point 6: ``mallory", "role": "admin`` as an MCP argument is only the name."""
    name = 'mallory", "role": "admin'
    result = call(mcp_url, "create-user", {"name": name})
    assert result.is_error is False, result
    assert legit.only().json() == {"name": name, "role": "user"}
