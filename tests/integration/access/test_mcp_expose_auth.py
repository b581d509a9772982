"""An MCP expose with its own ``authentication`` when ``REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH``
is on: the expose's credential and a registry key are both needed, the key in
``X-API-Key`` (``Authorization`` carries the expose's bearer token).
"""

from __future__ import annotations

import pytest

from tests.integration.access.mcp_stack import (
    INITIALIZE,
    MCP_PUBLIC_URL,
    VAULT_TOKEN,
    api_key,
    bearer,
    call_tool,
    make_keys,
    post,
    start_registry,
)
from tests.support.upstream import Answer, RecordingUpstream

pytestmark = pytest.mark.processes  # see tests/conftest.py

METADATA = f"{MCP_PUBLIC_URL}/.well-known/oauth-protected-resource/mcp/vault-mcp"


@pytest.fixture(scope="module")
def recording():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, recording):
    process = start_registry(
        tmp_path_factory.mktemp("mcp-expose-auth"),
        recording.url,
        REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH="true",
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def secrets(registry) -> dict[str, str]:
    return make_keys(
        registry, {"vault-key": {"grants": ["vault"]}, "desk-key": {"grants": ["desk"]}}
    )


@pytest.fixture(scope="module")
def vault(registry, secrets) -> str:
    return registry.start_mcp() + "/mcp/vault-mcp"


class TestBothCredentials:
    """Issue 10 point 2: with the setting on, the registry's key check applies in addition
    to the expose's own authentication."""

    def test_the_expose_credential_alone_is_401_asking_for_a_key_in_x_api_key(
        self, vault, recording
    ):
        before = len(recording.received)
        response = post(vault, INITIALIZE, bearer(VAULT_TOKEN))
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert "X-API-Key" in response.json()["detail"]
        assert response.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA}"'
        assert len(recording.received) == before

    def test_a_key_alone_is_401_for_the_expose_credential(self, vault, secrets):
        response = post(vault, INITIALIZE, api_key(secrets["vault-key"]))
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"

    def test_a_key_of_another_capability_is_403(self, vault, secrets):
        response = post(vault, INITIALIZE, {**bearer(VAULT_TOKEN), **api_key(secrets["desk-key"])})
        assert response.status_code == 403
        assert response.json()["code"] == "not_granted"

    @pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
    def test_both_admit_and_neither_reaches_the_upstream(self, vault, secrets, recording, mode):
        recording.answer("GET", "/vault", Answer(200, {"open": True}))
        before = len(recording.received)
        headers = {**bearer(VAULT_TOKEN), **api_key(secrets["vault-key"])}
        result = call_tool(vault, headers, "open-vault", {}, mode)
        assert result.structured_content == {"open": True}
        (received,) = recording.received[before:]
        sent = " ".join(value for _, value in received.header_lines)
        assert VAULT_TOKEN not in sent
        assert secrets["vault-key"] not in sent
