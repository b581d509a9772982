"""Client keys on the REST surface: who may call what (issue 10, points 1, 2 and 4).

A real upstream on 127.0.0.1 records every request: a refused call must reach nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from capabilities_app.store.models import ClientGrant, ClientKey
from tests.conftest import ROOT
from tests.integration.rest.conftest import load
from tests.support.keys import expire, make_key, revoke

pytestmark = pytest.mark.django_db


def document(namespace: str = "fleet", authentication: str = "", trusted: str = "") -> str:
    expose_auth = f"\n    authentication: {authentication}" if authentication else ""
    return f"""
naftiko: 1.0.0-alpha2
info: {{label: Keys, description: Client keys test.}}
binds:
- namespace: env
  keys: {{EXPOSE_TOKEN: TEST_EXPOSE_TOKEN}}
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
    port: 8080{expose_auth}
    resources:
    - path: /ships
      operations:
      - {{name: list-ships, method: GET, call: up-{namespace}.list}}
      - {{name: add-ship, method: POST, call: up-{namespace}.add}}
    - path: /proxy/{{{{path}}}}
      forward: {{targetNamespace: up-{namespace}, trustedHeaders: [{trusted or "X-Request-Id"}]}}
"""


@pytest.fixture
def fleet(upstream, keys_required):
    load(document(), base_uri=upstream.url, name="fleet")
    load(document("harbour"), base_uri=upstream.url, name="harbour")
    return upstream


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code, problem
    return problem


class TestNoCredential:
    def test_a_call_without_a_key_is_401_with_a_challenge_and_reaches_nothing(self, api, fleet):
        """Issue 10 point 2: no credential → 401 problem+json with WWW-Authenticate."""
        response = api.get("/rest/fleet/ships")
        assert_problem(response, 401, "not_authenticated")
        challenge = response["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert (
            'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/rest/fleet"'
            in challenge
        )
        assert fleet.received == []

    def test_an_unknown_path_or_method_tells_a_caller_without_a_key_nothing(self, api, fleet):
        """Issue 10 point 2: 401 before routing, so the API's shape does not leak."""
        assert_problem(api.get("/rest/fleet/nowhere"), 401, "not_authenticated")
        assert_problem(api.delete("/rest/fleet/ships"), 401, "not_authenticated")

    @pytest.mark.processes
    def test_keys_are_required_by_default(self):
        """Issue 10 point 2: REGISTRY_REQUIRE_CLIENT_KEY defaults to true in the settings."""
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_REQUIRE_CLIENT_KEY")
        }
        environment.update(DJANGO_SETTINGS_MODULE="registry.settings", DEBUG="true")
        code = (
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.REGISTRY_REQUIRE_CLIENT_KEY)"
        )
        shown = subprocess.run(
            [sys.executable, "-c", code],
            env=environment,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert shown.stdout.strip() == "True"


class TestBadKeys:
    def test_an_unknown_key_is_401(self, api, fleet):
        """Issue 10 point 2: a wrong key → 401 invalid_client_key, the key not echoed."""
        make_key("real", "fleet")
        wrong = "crk_00000000_" + "x" * 43
        response = api.get("/rest/fleet/ships", headers=bearer(wrong))
        problem = assert_problem(response, 401, "invalid_client_key")
        assert wrong not in response.content.decode()
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
        assert "not known" in problem["detail"]
        assert fleet.received == []

    def test_a_right_prefix_with_a_wrong_secret_is_401(self, api, fleet):
        """Issue 10 point 1: the prefix finds the row; only the whole key's hash lets it in."""
        key = make_key("real", "fleet")
        forged = key[:13] + ("A" if key[13] != "A" else "B") + key[14:]
        assert_problem(
            api.get("/rest/fleet/ships", headers=bearer(forged)), 401, "invalid_client_key"
        )
        assert fleet.received == []

    def test_a_bearer_value_that_is_no_key_is_401(self, api, fleet):
        """Issue 10 point 2: anything but a registry key (or token, with OAuth) is refused."""
        response = api.get("/rest/fleet/ships", headers=bearer("hunter2"))
        assert_problem(response, 401, "invalid_client_key")
        assert "hunter2" not in response.content.decode()

    def test_a_revoked_key_is_401_naming_only_its_prefix(self, api, fleet):
        """Issue 10 point 2: revoked → 401; the detail names the key by its prefix alone."""
        key = make_key("gone", "fleet")
        assert api.get("/rest/fleet/ships", headers=bearer(key)).status_code == 200
        revoke("gone")
        response = api.get("/rest/fleet/ships", headers=bearer(key))
        problem = assert_problem(response, 401, "invalid_client_key")
        assert "revoked" in problem["detail"]
        assert key[:12] in problem["detail"]
        assert key not in response.content.decode()
        assert len(fleet.received) == 1  # only the call before the revocation

    def test_an_expired_key_is_401(self, api, fleet):
        """Issue 10 point 2: expired → 401."""
        key = make_key("old", "fleet", expires_in_days=30)
        assert api.get("/rest/fleet/ships", headers=bearer(key)).status_code == 200
        expire("old")
        problem = assert_problem(
            api.get("/rest/fleet/ships", headers=bearer(key)), 401, "invalid_client_key"
        )
        assert "expired" in problem["detail"]
        assert len(fleet.received) == 1


class TestGrants:
    def test_another_capabilitys_key_is_403_and_reaches_nothing(self, api, fleet):
        """Issue 10 point 2: a key without a grant for that capability → 403."""
        key = make_key("harbour-only", "harbour")
        assert_problem(api.get("/rest/fleet/ships", headers=bearer(key)), 403, "not_granted")
        assert fleet.received == []
        assert api.get("/rest/harbour/ships", headers=bearer(key)).status_code == 200

    def test_an_unknown_path_is_403_to_a_key_of_another_capability(self, api, fleet):
        """Issue 10 point 2: the grant is checked before routing (no 404/405 map of the API)."""
        key = make_key("harbour-only", "harbour")
        assert_problem(api.get("/rest/fleet/nowhere", headers=bearer(key)), 403, "not_granted")

    def test_a_key_granted_one_operation_calls_that_one_only(self, api, fleet):
        """Issue 10 point 1: a grant names the exposed operation (not the consumed one)."""
        key = make_key("reader", "fleet:list-ships")
        assert api.get("/rest/fleet/ships", headers=bearer(key)).status_code == 200
        response = api.post(
            "/rest/fleet/ships", data=b"{}", content_type="application/json", headers=bearer(key)
        )
        problem = assert_problem(response, 403, "not_granted")
        assert "fleet:add-ship" in problem["detail"]
        assert [r.method for r in fleet.received] == ["GET"]

    def test_a_grant_naming_the_consumed_operation_grants_nothing(self, api, fleet):
        """Issue 10 point 1: ``up-fleet.list`` is the consumed operation, never a grant."""
        key = make_key("confused", "fleet:list")
        assert_problem(api.get("/rest/fleet/ships", headers=bearer(key)), 403, "not_granted")
        assert fleet.received == []

    def test_a_forward_needs_a_grant_of_the_whole_capability(self, api, fleet):
        """Issue 10 point 1: a forward has no name to grant; a whole-capability grant covers it."""
        one = make_key("one", "fleet:list-ships")
        whole = make_key("whole", "fleet")
        assert_problem(api.get("/rest/fleet/proxy/x", headers=bearer(one)), 403, "not_granted")
        assert api.get("/rest/fleet/proxy/x", headers=bearer(whole)).status_code == 200
        assert [r.path for r in fleet.received] == ["/x"]

    def test_a_regrant_takes_effect_on_the_next_call(self, api, fleet):
        """Issue 10 point 1: grants edited (the admin's inline) reach the key table at once."""
        key = make_key("growing", "fleet:list-ships")
        post = {"data": b"{}", "content_type": "application/json", "headers": bearer(key)}
        assert api.post("/rest/fleet/ships", **post).status_code == 403
        ClientGrant.objects.create(key=ClientKey.objects.get(name="growing"), capability="fleet")
        assert api.post("/rest/fleet/ships", **post).status_code == 200


class TestHeaderForms:
    @pytest.mark.parametrize(
        "headers",
        [
            lambda key: {"Authorization": f"Bearer {key}"},
            lambda key: {"Authorization": f"bearer {key}"},
            lambda key: {"X-API-Key": key},
            lambda key: {"x-api-key": key},
        ],
        ids=["authorization-bearer", "lower-case-scheme", "x-api-key", "lower-case-x-api-key"],
    )
    def test_each_header_form_is_accepted(self, api, fleet, headers):
        """Issue 10 point 1: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
        key = make_key("client", "fleet")
        assert api.get("/rest/fleet/ships", headers=headers(key)).status_code == 200
        received = fleet.only()
        assert received.header("authorization") is None
        assert received.header("x-api-key") is None

    def test_a_forward_that_trusts_the_key_header_still_never_sends_the_key(
        self, api, upstream, keys_required
    ):
        """Issue 10 point 2: the registry credential's header is never forwarded upstream."""
        load(document(trusted="X-API-Key"), base_uri=upstream.url, name="fleet")
        key = make_key("client", "fleet")
        assert api.get("/rest/fleet/proxy/x", headers={"X-API-Key": key}).status_code == 200
        assert upstream.only().header("x-api-key") is None

    def test_a_forward_that_trusts_authorization_passes_it_when_the_key_is_in_x_api_key(
        self, api, upstream, keys_required
    ):
        """Issue 10 point 2: with the key in X-API-Key, the caller's own Authorization is theirs."""
        load(document(trusted="Authorization"), base_uri=upstream.url, name="fleet")
        key = make_key("client", "fleet")
        headers = {"X-API-Key": key, "Authorization": "Bearer upstream-token"}
        assert api.get("/rest/fleet/proxy/x", headers=headers).status_code == 200
        assert upstream.only().header("authorization") == "Bearer upstream-token"


class TestExposeAuthentication:
    AUTH = "{type: bearer, token: '{{EXPOSE_TOKEN}}'}"

    @pytest.fixture
    def guarded(self, upstream, keys_required, monkeypatch):
        monkeypatch.setenv("TEST_EXPOSE_TOKEN", "expose-secret")
        load(document("guarded", authentication=self.AUTH), base_uri=upstream.url, name="guarded")
        return upstream

    def test_an_expose_with_its_own_authentication_keeps_it_without_a_key(self, api, guarded):
        """Issue 10 point 2: the document's credential is the caller's (the default)."""
        assert api.get("/rest/guarded/ships", headers=bearer("expose-secret")).status_code == 200
        response = api.get("/rest/guarded/ships")
        assert_problem(response, 401, "not_authenticated")
        assert api.get("/rest/guarded/ships", headers=bearer("wrong")).status_code == 401
        assert len(guarded.received) == 1

    def test_with_the_setting_both_the_expose_credential_and_a_key_are_needed(
        self, api, guarded, settings
    ):
        """Issue 10 point 2: REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH adds the registry's check."""
        settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH = True
        key = make_key("client", "guarded")
        response = api.get("/rest/guarded/ships", headers=bearer("expose-secret"))
        problem = assert_problem(response, 401, "not_authenticated")
        assert "X-API-Key" in problem["detail"]
        assert api.get("/rest/guarded/ships", headers={"X-API-Key": key}).status_code == 401
        both = {"Authorization": "Bearer expose-secret", "X-API-Key": key}
        assert api.get("/rest/guarded/ships", headers=both).status_code == 200
        received = guarded.only()
        assert received.header("x-api-key") is None
        assert received.header("authorization") is None


class TestKeysOptional:
    def test_without_the_requirement_a_call_without_a_key_is_served(self, api, upstream):
        """Issue 10 point 2: REGISTRY_REQUIRE_CLIENT_KEY=false lets anonymous callers in."""
        load(document(), base_uri=upstream.url, name="fleet")
        assert api.get("/rest/fleet/ships").status_code == 200

    def test_without_the_requirement_a_presented_key_is_still_checked(self, api, upstream):
        """Issue 10 point 2: a key that is sent is a key that counts (and its grants apply)."""
        load(document(), base_uri=upstream.url, name="fleet")
        other = make_key("other", "harbour")
        assert api.get("/rest/fleet/ships", headers=bearer(other)).status_code == 403
        wrong = "crk_00000000_" + "x" * 43
        assert api.get("/rest/fleet/ships", headers=bearer(wrong)).status_code == 401


class TestWarmRequests:
    def test_a_warm_keyed_call_reads_no_database(
        self, api, fleet, settings, django_assert_num_queries
    ):
        """Issue 10 budget: the key is looked up in memory (no query on a warm request)."""
        settings.REGISTRY_CATALOG_CHECK_SECONDS = 60
        key = make_key("client", "fleet")
        assert api.get("/rest/fleet/ships", headers=bearer(key)).status_code == 200  # warms up
        with django_assert_num_queries(0):
            assert api.get("/rest/fleet/ships", headers=bearer(key)).status_code == 200
