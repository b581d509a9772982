"""Upstream authentication from bind variables, and what never reaches the upstream (§4)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re

import pytest

from tests.integration.rest.conftest import load
from tests.support.upstream import Answer

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-value-7f1c"


def document(authentication: str, binds: str = "", parameters: str = "") -> str:
    return f"""
naftiko: 1.0.0-alpha2
info: {{label: Auth, description: Authentication test.}}
binds:
- namespace: env
  keys: {{API_TOKEN: TEST_API_TOKEN, API_USER: TEST_API_USER, API_PASSWORD: TEST_API_PASSWORD}}
{binds}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    authentication: {authentication}
    resources:
    - name: things
      path: /things
      operations:
      - name: list
        method: GET
{parameters}
  exposes:
  - type: rest
    namespace: auth
    port: 8080
    resources:
    - path: /things
      operations:
      - {{method: GET, call: up.list}}
"""


class TestAuthenticationTypes:
    def test_bearer_with_a_plain_variable(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_TOKEN", SECRET)
        load(document("{type: bearer, token: '{{API_TOKEN}}'}"), base_uri=upstream.url)
        assert api.get("/rest/auth/things").status_code == 200
        assert upstream.only().header("authorization") == f"Bearer {SECRET}"

    def test_bearer_with_a_namespaced_variable(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_TOKEN", SECRET)
        load(document("{type: bearer, token: '{{env.API_TOKEN}}'}"), base_uri=upstream.url)
        assert api.get("/rest/auth/things").status_code == 200
        assert upstream.only().header("authorization") == f"Bearer {SECRET}"

    def test_basic(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_USER", "alice")
        monkeypatch.setenv("TEST_API_PASSWORD", SECRET)
        load(
            document("{type: basic, username: '{{API_USER}}', password: '{{API_PASSWORD}}'}"),
            base_uri=upstream.url,
        )
        assert api.get("/rest/auth/things").status_code == 200
        expected = base64.b64encode(f"alice:{SECRET}".encode()).decode()
        assert upstream.only().header("authorization") == f"Basic {expected}"

    def test_digest_answers_the_challenge(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_USER", "alice")
        monkeypatch.setenv("TEST_API_PASSWORD", SECRET)
        realm, nonce = "registry-test", "dcd98b7102dd2f0e8b11d0f600bfb0c093"
        upstream.answer(
            "GET",
            "/things",
            Answer(
                401,
                {"error": "auth"},
                headers={
                    "WWW-Authenticate": f'Digest realm="{realm}", nonce="{nonce}", qop="auth"'
                },
            ),
            Answer(200, {"ok": True}),
        )
        load(
            document("{type: digest, username: '{{API_USER}}', password: '{{API_PASSWORD}}'}"),
            base_uri=upstream.url,
        )
        response = api.get("/rest/auth/things")
        assert response.status_code == 200
        first, second = upstream.received
        assert first.header("authorization") is None
        fields = dict(re.findall(r'(\w+)="?([^",]+)"?', second.header("authorization")))
        assert second.header("authorization").startswith("Digest ")
        assert (fields["username"], fields["realm"], fields["nonce"]) == ("alice", realm, nonce)

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 2617 digest

        ha1 = md5(f"alice:{realm}:{SECRET}")
        ha2 = md5(f"GET:{fields['uri']}")
        expected = md5(f"{ha1}:{nonce}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        assert fields["response"] == expected

    def test_apikey_in_a_header(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_TOKEN", SECRET)
        load(
            document("{type: apikey, key: X-Api-Key, value: '{{API_TOKEN}}', placement: header}"),
            base_uri=upstream.url,
        )
        api.get("/rest/auth/things")
        assert upstream.only().header("X-Api-Key") == SECRET

    def test_apikey_in_the_query(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_TOKEN", SECRET)
        load(
            document("{type: apikey, key: api_key, value: '{{API_TOKEN}}', placement: query}"),
            base_uri=upstream.url,
        )
        api.get("/rest/auth/things")
        assert upstream.only().query == [("api_key", SECRET)]

    def test_file_binds_read_a_flat_map(self, api, upstream, tmp_path):
        secrets = tmp_path / "secrets.yaml"
        secrets.write_text(f"file-token: {SECRET}\n")
        binds = (
            f"- namespace: files\n  location: file://{secrets}\n  keys: {{FILE_TOKEN: file-token}}"
        )
        load(
            document("{type: bearer, token: '{{FILE_TOKEN}}'}", binds=binds),
            base_uri=upstream.url,
        )
        api.get("/rest/auth/things")
        assert upstream.only().header("authorization") == f"Bearer {SECRET}"

    def test_binds_in_parameter_values(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_TOKEN", SECRET)
        parameters = (
            "        inputParameters:\n"
            "        - {name: X-Version, in: header, value: 'v-{{env.API_TOKEN}}'}"
        )
        load(document("{type: bearer, token: fixed}", parameters=parameters), base_uri=upstream.url)
        api.get("/rest/auth/things")
        assert upstream.only().header("X-Version") == f"v-{SECRET}"


class TestMissingSecrets:
    def test_a_missing_secret_is_503_naming_it_with_no_upstream_request(
        self, api, upstream, monkeypatch, caplog
    ):
        monkeypatch.setenv("TEST_API_USER", SECRET)  # present; its value must not leak
        monkeypatch.delenv("TEST_API_PASSWORD", raising=False)
        load(
            document("{type: basic, username: '{{API_USER}}', password: '{{API_PASSWORD}}'}"),
            base_uri=upstream.url,
        )
        with caplog.at_level(logging.DEBUG):
            response = api.get("/rest/auth/things")
        assert response.status_code == 503
        problem = response.json()
        assert problem["code"] == "secret_missing"
        assert "API_PASSWORD" in problem["detail"]
        assert "TEST_API_PASSWORD" in problem["detail"]
        assert upstream.received == []
        assert SECRET not in response.content.decode()
        assert SECRET not in caplog.text

    def test_secrets_are_not_logged_on_success(self, api, upstream, monkeypatch, caplog):
        monkeypatch.setenv("TEST_API_TOKEN", SECRET)
        load(
            document("{type: apikey, key: api_key, value: '{{API_TOKEN}}', placement: query}"),
            base_uri=upstream.url,
        )
        with caplog.at_level(logging.DEBUG):
            assert api.get("/rest/auth/things").status_code == 200
        assert SECRET not in caplog.text


class TestCallerHeaders:
    def test_callers_credentials_never_reach_the_upstream(self, api, upstream, monkeypatch):
        monkeypatch.setenv("TEST_API_TOKEN", SECRET)
        load(document("{type: bearer, token: '{{API_TOKEN}}'}"), base_uri=upstream.url)
        api.cookies["sessionid"] = "caller-session"
        api.get(
            "/rest/auth/things",
            headers={"authorization": "Bearer caller-token", "x-forwarded-for": "1.2.3.4"},
        )
        received = upstream.only()
        assert received.header("authorization") == f"Bearer {SECRET}"
        assert received.header("cookie") is None
        assert received.header("x-forwarded-for") is None
        assert received.header("host") == upstream.url.removeprefix("http://")

    def test_without_consumes_authentication_nothing_is_sent(self, api, upstream):
        load(document("null"), base_uri=upstream.url)
        api.get("/rest/auth/things", headers={"authorization": "Bearer caller-token"})
        assert upstream.only().header("authorization") is None


def test_upstream_cookies_never_reach_another_caller(api, upstream):
    upstream.answer(
        "GET",
        "/things",
        Answer(200, {"ok": True}, headers={"Set-Cookie": "session=a-secret; Path=/"}),
    )
    load(document("null"), base_uri=upstream.url)
    first = api.get("/rest/auth/things")
    assert first.status_code == 200
    api.get("/rest/auth/things")
    assert [r.header("cookie") for r in upstream.received] == [None, None]
