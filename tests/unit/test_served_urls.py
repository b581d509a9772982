"""The URLs the registry gives out for its exposes (issue 13 point 5): built from the
public URL settings, never from the document's ports, the MCP one ending in /mcp."""

from __future__ import annotations

import pytest

from capabilities_app.store import served


@pytest.fixture(autouse=True)
def public_urls(settings):
    settings.REGISTRY_PUBLIC_URL = "https://api.example.com"
    settings.REGISTRY_MCP_PUBLIC_URL = "https://mcp.example.com"


def test_rest_urls_are_under_the_public_url():
    assert served.rest_base_url("fleet-api") == "https://api.example.com/rest/fleet-api"
    assert served.rest_url("fleet-api", "/ships/{imo}") == (
        "https://api.example.com/rest/fleet-api/ships/{imo}"
    )
    assert served.rest_openapi_url("fleet-api", fmt="yaml").endswith("/fleet-api/openapi.yaml")
    with pytest.raises(ValueError):
        served.rest_openapi_url("fleet-api", fmt="xml")


def test_the_mcp_url_ends_in_mcp_for_clients_that_choose_their_transport_by_it():
    assert served.mcp_url("fleet-tools") == "https://mcp.example.com/mcp/fleet-tools/mcp"


def test_a_namespace_cannot_leave_its_segment():
    assert served.rest_base_url("a/../b?c") == "https://api.example.com/rest/a%2F..%2Fb%3Fc"
    assert served.mcp_url("x y") == "https://mcp.example.com/mcp/x%20y/mcp"


def test_what_is_not_served_has_no_url():
    assert served.served_expose("skill", "s") is None
    assert served.served_expose("rest", None) is None
    mcp = served.served_expose("mcp", "tools")
    assert mcp is not None
    assert mcp.url.endswith("/mcp/tools/mcp")
    assert mcp.stdio_command[-2:] == ("--namespace", "tools")
