"""The stdio server runs as the local operator: no key, everything visible, even with
``REGISTRY_REQUIRE_CLIENT_KEY=true`` and keys in the database."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import ROOT
from tests.integration.access.mcp_stack import make_keys, start_registry
from tests.integration.mcp.conftest import run
from tests.support.processes import MANAGE
from tests.support.upstream import Answer, RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py


@pytest.fixture(scope="module")
def recording():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, recording):
    process = start_registry(tmp_path_factory.mktemp("mcp-stdio-access"), recording.url)
    make_keys(process, {"one-tool": {"grants": ["desk:list-notes"]}})
    yield process
    process.stop()


def stdio(registry, namespace: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=MANAGE[0],
        args=[*MANAGE[1:], "run_mcp_server", "--transport", "stdio", "--namespace", namespace],
        cwd=str(ROOT),
        env={k: v for k, v in registry.env.items() if isinstance(v, str)},
    )


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_stdio_needs_no_key_and_shows_everything(registry, recording, mode):
    """Issue 10 point 4: the stdio server runs as the local operator and needs no key."""
    recording.answer("GET", "/notes/n-3", Answer(200, {"id": "n-3"}))

    async def use():
        async with Client(stdio(registry, "desk-mcp"), mode=mode) as client:
            return (
                {t.name for t in (await client.list_tools()).tools},
                {r.name for r in (await client.list_resources()).resources},
                {t.name for t in (await client.list_resource_templates()).resource_templates},
                {p.name for p in (await client.list_prompts()).prompts},
                await client.call_tool("get-note", {"id": "n-3"}),
                await client.get_prompt("greet", {}),
            )

    before = len(recording.received)
    tools, resources, templates, prompts, called, prompt = run(use())
    assert tools == {"list-notes", "get-note", "find-note"}
    assert (resources, templates, prompts) == ({"all-notes"}, {"one-note"}, {"summarize", "greet"})
    assert called.structured_content == {"id": "n-3"}
    assert prompt.messages[0].content.text == "Hello."
    (received,) = recording.received[before:]
    assert received.path == "/notes/n-3"
