"""RFC 9728 protected-resource metadata on the web server and the MCP server (issue 10,
point 3), and the 401 challenges that point at it.

The MCP document is read from a real ``run_mcp_server`` process.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.rest.conftest import load
from tests.support.registry_process import RegistryProcess

ISSUER = "https://idp.example.test/"
JWKS_URL = "https://idp.example.test/jwks.json"  # never fetched: no token is sent here
WELL_KNOWN = "/.well-known/oauth-protected-resource"

REST_DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Metadata, description: Protected-resource metadata test.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: ships
      path: /ships
      operations:
      - {name: list, method: GET}
      - {name: add, method: POST}
  exposes:
  - type: rest
    namespace: fleet
    port: 8080
    resources:
    - path: /ships
      operations:
      - {name: list-ships, method: GET, call: up.list}
      - {name: add-ship, method: POST, call: up.add}
    - path: /proxy/{{path}}
      forward: {targetNamespace: up}
"""

MCP_DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Metadata MCP, description: Protected-resource metadata test.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: ships
      path: /ships
      operations:
      - {name: list, method: GET}
      - {name: add, method: POST}
  exposes:
  - type: mcp
    namespace: fleet-tools
    port: 9090
    description: Fleet tools.
    tools:
    - {name: list-ships, description: List ships, call: up.list}
    - {name: add-ship, description: Add a ship, call: up.add}
    resources:
    - {name: ship-register, uri: 'data://ships', description: Every ship, call: up.list}
    prompts:
    - name: describe-ship
      description: Describe a ship
      arguments: [{name: ship, description: The ship, required: true}]
      template: [{role: user, content: 'Describe {{ship}}.'}]
"""


def assert_cacheable_json(response) -> dict:
    assert response.status_code == 200, response.content
    assert response.headers["Content-Type"].startswith("application/json")
    assert "max-age=" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
    return response.json()


@pytest.mark.django_db
class TestRest:
    @pytest.fixture
    def fleet(self, upstream, settings):
        settings.REGISTRY_PUBLIC_URL = "https://api.example.test"
        load(REST_DOCUMENT, base_uri=upstream.url, name="fleet-cap")
        return upstream

    def test_the_document_names_the_resource_its_issuer_and_every_scope(
        self, api, fleet, settings, keys_required
    ):
        """Issue 10 point 3: resource, authorization_servers, scopes_supported (RFC 9728)."""
        settings.REGISTRY_OAUTH_ISSUER = ISSUER
        settings.REGISTRY_OAUTH_JWKS_URL = JWKS_URL
        document = assert_cacheable_json(api.get(f"{WELL_KNOWN}/rest/fleet"))
        assert document == {
            "resource": "https://api.example.test/rest/fleet",
            "authorization_servers": [ISSUER],
            "scopes_supported": [
                "capability:fleet-cap",
                "capability:fleet-cap:list-ships",
                "capability:fleet-cap:add-ship",
            ],
            "bearer_methods_supported": ["header"],
            "resource_name": "fleet (REST API of the capability fleet-cap)",
        }
        assert fleet.received == []

    def test_without_oauth_it_names_no_authorization_server(self, api, fleet):
        """Issue 10 point 3: served whether or not OAuth (or keys) are on."""
        document = assert_cacheable_json(api.get(f"{WELL_KNOWN}/rest/fleet"))
        assert "authorization_servers" not in document
        assert document["resource"] == "https://api.example.test/rest/fleet"
        assert "capability:fleet-cap:add-ship" in document["scopes_supported"]

    def test_an_unknown_namespace_is_404_problem_json(self, api, fleet):
        """Issue 10 point 3: no document for what is not served."""
        for path in (f"{WELL_KNOWN}/rest/nowhere", f"{WELL_KNOWN}/mcp/fleet", WELL_KNOWN):
            response = api.get(path)
            assert response.status_code == 404, path
            assert response["Content-Type"] == "application/problem+json"
            assert response.json()["code"] == "resource_not_found"

    def test_only_get_is_served(self, api, fleet):
        """Issue 10 point 3: the document is read, never written."""
        response = api.post(f"{WELL_KNOWN}/rest/fleet")
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
        head = api.head(f"{WELL_KNOWN}/rest/fleet")
        assert (head.status_code, head.content) == (200, b"")
        assert head["Cache-Control"] == api.get(f"{WELL_KNOWN}/rest/fleet")["Cache-Control"]

    def test_the_401_challenge_points_at_this_document(self, api, fleet, settings, keys_required):
        """Issue 10 point 3: WWW-Authenticate: Bearer resource_metadata="…" (RFC 9728 §5.1)."""
        settings.REGISTRY_OAUTH_ISSUER = ISSUER
        settings.REGISTRY_OAUTH_JWKS_URL = JWKS_URL
        response = api.get("/rest/fleet/ships")
        assert response.status_code == 401
        challenge = response["WWW-Authenticate"]
        url = challenge.split('resource_metadata="')[1].split('"')[0]
        assert url == "https://api.example.test/.well-known/oauth-protected-resource/rest/fleet"
        document = assert_cacheable_json(api.get(urlsplit(url).path))
        assert document["resource"] == "https://api.example.test/rest/fleet"
        assert document["authorization_servers"] == [ISSUER]


@pytest.fixture(scope="module")
def mcp(tmp_path_factory):
    """An MCP server process serving an MCP expose (and a REST one it does not serve)."""
    process = RegistryProcess(
        tmp_path_factory.mktemp("metadata-mcp"),
        REGISTRY_OAUTH_ISSUER=ISSUER,
        REGISTRY_OAUTH_JWKS_URL=JWKS_URL,
        REGISTRY_MCP_PUBLIC_URL="https://mcp.example.test",
        REGISTRY_REQUIRE_CLIENT_KEY="true",
    )
    process.import_document(MCP_DOCUMENT, name="fleet-mcp-cap")
    process.import_document(REST_DOCUMENT, name="fleet-cap")
    yield process.start_mcp()
    process.stop()


@pytest.mark.processes
class TestMcp:
    def test_the_document_names_every_tool_resource_and_prompt(self, mcp):
        """Issue 10 point 3: the MCP server's metadata (RFC 9728) lists a scope per name."""
        response = httpx.get(f"{mcp}{WELL_KNOWN}/mcp/fleet-tools")
        assert assert_cacheable_json(response) == {
            "resource": "https://mcp.example.test/mcp/fleet-tools",
            "authorization_servers": [ISSUER],
            "scopes_supported": [
                "capability:fleet-mcp-cap",
                "capability:fleet-mcp-cap:list-ships",
                "capability:fleet-mcp-cap:add-ship",
                "capability:fleet-mcp-cap:ship-register",
                "capability:fleet-mcp-cap:describe-ship",
            ],
            "bearer_methods_supported": ["header"],
            "resource_name": "fleet-tools (MCP server of the capability fleet-mcp-cap)",
        }

    def test_it_is_served_without_a_key_and_for_any_host(self, mcp):
        """Issue 10 point 3: a client reads it before it has a credential (public, cacheable)."""
        response = httpx.get(
            f"{mcp}{WELL_KNOWN}/mcp/fleet-tools",
            headers={"Host": "mcp.example.test", "Origin": "https://elsewhere.example"},
        )
        assert assert_cacheable_json(response)["resource"].endswith("/mcp/fleet-tools")
        assert response.headers["Access-Control-Allow-Origin"] == "*"

    def test_the_path_an_mcp_client_derives_from_mcp_ns_mcp_serves_it_too(self, mcp):
        """Issue 10 point 3: /mcp/<ns>/mcp is the same server, so the same document."""
        same = httpx.get(f"{mcp}{WELL_KNOWN}/mcp/fleet-tools/mcp")
        assert assert_cacheable_json(same)["resource"] == "https://mcp.example.test/mcp/fleet-tools"

    @pytest.mark.parametrize(
        "path",
        [
            f"{WELL_KNOWN}/mcp/nowhere",
            f"{WELL_KNOWN}/rest/fleet",  # the REST document is the web server's
            f"{WELL_KNOWN}/mcp/fleet-tools/other",
            WELL_KNOWN,
        ],
    )
    def test_an_unknown_namespace_is_404_problem_json(self, mcp, path):
        """Issue 10 point 3: no document for what this server does not serve."""
        response = httpx.get(f"{mcp}{path}")
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "resource_not_found"

    def test_only_get_is_served(self, mcp):
        """Issue 10 point 3: the document is read, never written."""
        response = httpx.post(f"{mcp}{WELL_KNOWN}/mcp/fleet-tools", json={})
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, HEAD"
        head = httpx.head(f"{mcp}{WELL_KNOWN}/mcp/fleet-tools")
        assert (head.status_code, head.content) == (200, b"")

    def test_the_challenge_of_an_mcp_door_points_at_this_server(self, mcp, settings):
        """Issue 10 point 3: an MCP door's resource_metadata is this server's document."""
        from capabilities_app.access.admission import Door, challenge

        settings.REGISTRY_MCP_PUBLIC_URL = "https://mcp.example.test"
        door = Door("mcp", "fleet-tools", "fleet-mcp-cap")
        url = challenge(door).split('resource_metadata="')[1].split('"')[0]
        assert (
            url == "https://mcp.example.test/.well-known/oauth-protected-resource/mcp/fleet-tools"
        )
        document = assert_cacheable_json(httpx.get(mcp + urlsplit(url).path))
        assert document["resource"] == door.resource
