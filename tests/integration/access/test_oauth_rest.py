"""Access tokens on the REST surface: the registry as an OAuth 2.1 resource server (issue 10,
point 3).

An identity provider of the tests (a key pair made per run, its JWKS served on
127.0.0.1) issues the tokens; the registry fetches its keys from there. A real upstream
on 127.0.0.1 records every request: a refused call reaches nothing, and an accepted one
never carries the token.
"""

from __future__ import annotations

import logging
import time

import pytest

from capabilities_app.access import oauth
from tests.integration.rest.conftest import load
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db

RESOURCE = "http://127.0.0.1:8000/rest/fleet"
METADATA = "http://127.0.0.1:8000/.well-known/oauth-protected-resource/rest/fleet"


def document(namespace: str) -> str:
    return f"""
naftiko: 1.0.0-alpha2
info: {{label: Tokens, description: Access tokens test.}}
capability:
  consumes:
  - type: http
    namespace: up-{namespace}
    baseUri: https://upstream.example
    resources:
    - name: ships
      path: /ships
      operations:
      - {{name: list, method: GET}}
      - {{name: add, method: POST}}
  exposes:
  - type: rest
    namespace: {namespace}
    port: 8080
    resources:
    - path: /ships
      operations:
      - {{name: list-ships, method: GET, call: up-{namespace}.list}}
      - {{name: add-ship, method: POST, call: up-{namespace}.add}}
"""


@pytest.fixture
def fleet(upstream, keys_required, idp):
    load(document("fleet"), base_uri=upstream.url, name="fleet")
    load(document("harbour"), base_uri=upstream.url, name="harbour")
    return upstream


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code, problem
    return problem


def invalid_token(api, token: str, path: str = "/rest/fleet/ships") -> str:
    """Call with ``token``: 401 invalid_token, a challenge, the token echoed nowhere."""
    response = api.get(path, headers=bearer(token))
    problem = refused(response, 401, "invalid_token")
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    namespace = path.split("/")[2]
    metadata = f"http://127.0.0.1:8000/.well-known/oauth-protected-resource/rest/{namespace}"
    assert f'resource_metadata="{metadata}"' in challenge
    assert token not in response.content.decode()
    assert token not in challenge
    return problem["detail"]


class TestValidToken:
    def test_a_valid_token_reaches_the_upstream_without_the_token(self, api, fleet, idp):
        """Issue 10 point 3: a token for this resource with its scope calls the operation."""
        token = idp.token(audience=RESOURCE, scope="capability:fleet")
        response = api.get("/rest/fleet/ships", headers=bearer(token))
        assert response.status_code == 200, response.content
        received = fleet.only()
        assert received.path == "/ships"
        assert received.header("authorization") is None
        sent = f"{received.raw_path} {received.query} {received.header_lines} {received.body!r}"
        assert token not in sent
        assert token.rsplit(".", 1)[1] not in sent

    def test_the_jwks_is_fetched_once_for_many_calls(self, api, fleet, idp):
        """Issue 10 point 3: the keys are cached; warm calls fetch nothing."""
        for subject in ("a", "b", "c"):
            token = idp.token(audience=RESOURCE, scope="capability:fleet", subject=subject)
            assert api.get("/rest/fleet/ships", headers=bearer(token)).status_code == 200
        assert idp.fetches == 1

    def test_a_token_also_works_in_x_api_key(self, api, fleet, idp):
        """Issue 10 point 3: the registry credential's header forms take a token too."""
        token = idp.token(audience=RESOURCE, scope="capability:fleet")
        assert api.get("/rest/fleet/ships", headers={"X-API-Key": token}).status_code == 200
        assert fleet.only().header("x-api-key") is None


class TestInvalidTokens:
    def test_expired(self, api, fleet, idp):
        """Issue 10 point 3: exp in the past (beyond the leeway) → 401."""
        detail = invalid_token(api, idp.token(audience=RESOURCE, lifetime=-300, scope="x"))
        assert "expired" in detail
        assert fleet.received == []

    def test_not_yet_valid(self, api, fleet, idp):
        """Issue 10 point 3: nbf in the future (beyond the leeway) → 401."""
        token = idp.token(audience=RESOURCE, not_before=time.time() + 600)
        assert "not valid yet" in invalid_token(api, token)
        assert fleet.received == []

    @pytest.mark.parametrize(
        "audience",
        [
            "http://127.0.0.1:9090/mcp/fleet",  # the MCP resource of the same name
            "http://127.0.0.1:8000/rest/harbour",  # another namespace
            "http://127.0.0.1:8000/rest",  # the whole surface is not this resource
        ],
    )
    def test_wrong_audience(self, api, fleet, idp, audience):
        """Issue 10 point 3: aud must hold this resource's URL (RFC 8707)."""
        token = idp.token(audience=audience, scope="capability:fleet")
        assert RESOURCE in invalid_token(api, token)
        assert fleet.received == []

    def test_a_token_for_one_namespace_is_refused_at_another(self, api, fleet, idp):
        """Issue 10 point 3: the cache of verified tokens keeps the audience check."""
        token = idp.token(audience=RESOURCE, scope="capability:fleet capability:harbour")
        assert api.get("/rest/fleet/ships", headers=bearer(token)).status_code == 200
        invalid_token(api, token, "/rest/harbour/ships")
        assert len(fleet.received) == 1

    def test_wrong_issuer(self, api, fleet, idp):
        """Issue 10 point 3: iss must be REGISTRY_OAUTH_ISSUER."""
        token = idp.token(audience=RESOURCE, scope="capability:fleet", issuer="http://evil/")
        assert "not issued by" in invalid_token(api, token)
        assert fleet.received == []

    def test_unknown_key(self, api, fleet, idp):
        """Issue 10 point 3: signed by a key the JWKS does not hold (same kid, or another)."""
        invalid_token(api, idp.token(audience=RESOURCE, scope="capability:fleet", other_key=True))
        invalid_token(api, idp.token(audience=RESOURCE, scope="capability:fleet", kid="k2"))
        assert fleet.received == []

    @pytest.mark.parametrize("alg", ["none", "HS256", "HS256-n"])
    def test_forged_algorithm(self, api, fleet, idp, alg):
        """Issue 10 point 3: alg none, and HS256 keyed with the issuer's public key → 401."""
        invalid_token(api, idp.forged(alg, audience=RESOURCE, scope="capability:fleet"))
        assert fleet.received == []

    def test_without_oauth_configured_a_token_is_no_key(self, api, fleet, idp, settings):
        """Issue 10 point 3: with no issuer set, a JWT is just an unknown credential."""
        settings.REGISTRY_OAUTH_ISSUER = ""
        token = idp.token(audience=RESOURCE, scope="capability:fleet")
        response = api.get("/rest/fleet/ships", headers=bearer(token))
        refused(response, 401, "invalid_client_key")
        assert fleet.received == []


class TestScopes:
    def test_insufficient_scope_is_403_naming_the_scope(self, api, fleet, idp):
        """Issue 10 point 3: a token without a scope for the capability → 403 with the scope."""
        token = idp.token(audience=RESOURCE, scope="capability:harbour openid")
        response = api.get("/rest/fleet/ships", headers=bearer(token))
        refused(response, 403, "insufficient_scope")
        challenge = response["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert 'scope="capability:fleet"' in challenge
        assert f'resource_metadata="{METADATA}"' in challenge
        assert fleet.received == []

    def test_a_scope_for_one_operation_calls_that_one_only(self, api, fleet, idp):
        """Issue 10 point 3: capability:NAME:OPERATION grants one exposed operation."""
        token = idp.token(audience=RESOURCE, scope="capability:fleet:list-ships")
        assert api.get("/rest/fleet/ships", headers=bearer(token)).status_code == 200
        response = api.post(
            "/rest/fleet/ships", data=b"{}", content_type="application/json", headers=bearer(token)
        )
        problem = refused(response, 403, "insufficient_scope")
        assert "capability:fleet:add-ship" in problem["detail"]
        assert 'scope="capability:fleet:add-ship"' in response["WWW-Authenticate"]
        assert [r.method for r in fleet.received] == ["GET"]

    def test_scp_as_a_list(self, api, fleet, idp):
        """Issue 10 point 3: the ``scp`` claim (a list) grants like ``scope``."""
        token = idp.token(audience=RESOURCE, scp=["capability:fleet:add-ship"])
        response = api.post(
            "/rest/fleet/ships", data=b"{}", content_type="application/json", headers=bearer(token)
        )
        assert response.status_code == 200
        assert api.get("/rest/fleet/ships", headers=bearer(token)).status_code == 403


class TestKeys:
    def test_a_rotated_key_is_fetched_on_its_first_token(self, api, fleet, idp, monkeypatch):
        """Issue 10 point 3: a kid the cached JWKS lacks fetches it again (key rotation)."""
        monkeypatch.setattr(oauth, "JWKS_COOLDOWN_SECONDS", 0)
        oauth.reset()
        first = idp.token(audience=RESOURCE, scope="capability:fleet")
        assert api.get("/rest/fleet/ships", headers=bearer(first)).status_code == 200
        idp.rotate()
        second = idp.token(audience=RESOURCE, scope="capability:fleet", subject="other")
        assert api.get("/rest/fleet/ships", headers=bearer(second)).status_code == 200
        assert idp.fetches == 2

    def test_unknown_kids_do_not_fetch_the_jwks_each_time(self, api, fleet, idp):
        """Issue 10 point 3: a flood of made-up kids costs the issuer one fetch at most."""
        token = idp.token(audience=RESOURCE, scope="capability:fleet")
        assert api.get("/rest/fleet/ships", headers=bearer(token)).status_code == 200
        for n in range(5):
            invalid_token(api, idp.token(audience=RESOURCE, kid=f"made-up-{n}"))
        assert idp.fetches == 1

    def test_a_jwks_that_cannot_be_fetched_is_503_logged_once(
        self, api, fleet, idp, settings, caplog
    ):
        """Issue 10 point 3: no keys to check with is the registry's problem: 503, not 401."""
        settings.REGISTRY_OAUTH_JWKS_URL = f"http://127.0.0.1:{free_port()}/jwks.json"
        token = idp.token(audience=RESOURCE, scope="capability:fleet")
        with caplog.at_level(logging.WARNING, logger="capabilities_app.access.oauth"):
            for _ in range(3):
                response = api.get("/rest/fleet/ships", headers=bearer(token))
                problem = refused(response, 503, "jwks_unavailable")
                assert token not in response.content.decode()
                assert "WWW-Authenticate" not in response
        assert "keys" in problem["detail"]
        logged = [r for r in caplog.records if r.name == "capabilities_app.access.oauth"]
        assert len(logged) == 1
        assert settings.REGISTRY_OAUTH_JWKS_URL in logged[0].getMessage()
        assert fleet.received == []

    def test_an_issuer_answering_an_error_is_503(self, api, fleet, idp):
        """Issue 10 point 3: the JWKS endpoint answering 503 → 503 jwks_unavailable."""
        idp.available = False
        token = idp.token(audience=RESOURCE, scope="capability:fleet")
        refused(api.get("/rest/fleet/ships", headers=bearer(token)), 503, "jwks_unavailable")

    def test_the_keys_fetched_before_serve_while_the_issuer_is_down(self, api, fleet, idp):
        """Issue 10 point 3: an issuer outage does not stop tokens signed with known keys."""
        token = idp.token(audience=RESOURCE, scope="capability:fleet")
        assert api.get("/rest/fleet/ships", headers=bearer(token)).status_code == 200
        idp.available = False
        oauth._state().keys.jwk_set_cache.put(None)  # as when its lifespan has passed
        later = idp.token(audience=RESOURCE, scope="capability:fleet", subject="later")
        assert api.get("/rest/fleet/ships", headers=bearer(later)).status_code == 200
        assert idp.fetches == 2  # it was asked again, and failed
        assert len(fleet.received) == 2
