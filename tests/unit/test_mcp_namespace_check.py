"""``REGISTRY_MCP_NAMESPACE`` must be what the server.json name pattern allows before its '/'."""

from __future__ import annotations

import pytest

from capabilities_app.checks import mcp_registry_namespace


@pytest.mark.parametrize("value", ["localhost.registry", "com.example.registry", "io.github.me"])
def test_a_reverse_dns_namespace_passes(settings, value):
    settings.REGISTRY_MCP_NAMESPACE = value
    assert mcp_registry_namespace() == []


@pytest.mark.parametrize(
    "value", ["", "com.example/registry", "com example", "é.example", "a" * 190]
)
def test_anything_else_is_an_error(settings, value):
    settings.REGISTRY_MCP_NAMESPACE = value
    (error,) = mcp_registry_namespace()
    assert error.id == "capabilities_app.E006"
    assert "REGISTRY_MCP_NAMESPACE" in error.msg
