"""An expose's own ``authentication``: who may call the REST surface."""

from __future__ import annotations

import base64

import pytest

from tests.integration.rest.conftest import load

pytestmark = pytest.mark.django_db

KEY = "caller-key-9f2"


def document(authentication: str) -> str:
    return f"""
naftiko: 1.0.0-alpha2
info: {{label: Guarded, description: An expose that checks its callers.}}
binds:
- namespace: env
  keys: {{CALLER_KEY: TEST_CALLER_KEY, CALLER_USER: TEST_CALLER_USER}}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: things
      path: /things
      operations:
      - {{name: list, method: GET}}
  exposes:
  - type: rest
    namespace: guarded
    port: 8080
    authentication: {authentication}
    resources:
    - path: /things
      operations:
      - {{method: GET, call: up.list}}
"""


@pytest.fixture(autouse=True)
def caller_secrets(monkeypatch):
    monkeypatch.setenv("TEST_CALLER_KEY", KEY)
    monkeypatch.setenv("TEST_CALLER_USER", "alice")


class TestBearer:
    @pytest.fixture
    def guarded(self, upstream):
        return load(document("{type: bearer, token: '{{CALLER_KEY}}'}"), base_uri=upstream.url)

    def test_no_credential_is_401_with_a_challenge(self, api, upstream, guarded):
        response = api.get("/rest/guarded/things")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["code"] == "not_authenticated"
        assert upstream.received == []

    def test_a_wrong_token_is_401(self, api, upstream, guarded):
        response = api.get("/rest/guarded/things", headers={"authorization": "Bearer nope"})
        assert response.status_code == 401
        assert upstream.received == []

    def test_the_right_token_is_served_and_not_forwarded(self, api, upstream, guarded):
        response = api.get("/rest/guarded/things", headers={"authorization": f"Bearer {KEY}"})
        assert response.status_code == 200
        assert upstream.only().header("authorization") is None


def test_apikey_in_the_query(api, upstream):
    load(
        document("{type: apikey, key: api_key, value: '{{CALLER_KEY}}', placement: query}"),
        base_uri=upstream.url,
    )
    assert api.get("/rest/guarded/things?api_key=wrong").status_code == 401
    assert api.get(f"/rest/guarded/things?api_key={KEY}").status_code == 200


def test_basic(api, upstream):
    load(
        document("{type: basic, username: '{{CALLER_USER}}', password: '{{CALLER_KEY}}'}"),
        base_uri=upstream.url,
    )
    good = base64.b64encode(f"alice:{KEY}".encode()).decode()
    bad = base64.b64encode(b"alice:guess").decode()
    assert (
        api.get("/rest/guarded/things", headers={"authorization": f"Basic {bad}"}).status_code
        == 401
    )
    assert (
        api.get("/rest/guarded/things", headers={"authorization": f"Basic {good}"}).status_code
        == 200
    )


def test_an_unverifiable_scheme_refuses_everyone(api, upstream):
    load(
        document(
            "{type: oauth2, authorizationServerUri: 'https://auth.example', "
            "resource: 'https://api.example'}"
        ),
        base_uri=upstream.url,
    )
    response = api.get("/rest/guarded/things", headers={"authorization": f"Bearer {KEY}"})
    assert response.status_code == 401
    assert "does not verify" in response.json()["detail"]
    assert upstream.received == []


def test_a_missing_expected_secret_is_503_not_open(api, upstream, monkeypatch):
    monkeypatch.delenv("TEST_CALLER_KEY")
    load(document("{type: bearer, token: '{{CALLER_KEY}}'}"), base_uri=upstream.url)
    response = api.get("/rest/guarded/things", headers={"authorization": "Bearer "})
    assert response.status_code == 503
    assert upstream.received == []


class TestJobsOfAGuardedExpose:
    """An async job is read with the credential the expose authenticated its caller with."""

    @pytest.mark.parametrize(
        ("placement", "sent"),
        [
            ("header", lambda key: ({"x-caller-key": key}, "")),
            ("query", lambda key: ({}, f"?X-Caller-Key={key}")),
        ],
    )
    def test_only_the_api_key_holder_reads_the_job(self, api, upstream, placement, sent):
        load(
            document(
                f"{{type: apikey, key: X-Caller-Key, value: '{{{{CALLER_KEY}}}}', "
                f"placement: {placement}}}"
            ),
            base_uri=upstream.url,
        )
        headers, query = sent(KEY)
        accepted = api.get(
            "/rest/guarded/things" + query, headers={**headers, "prefer": "respond-async"}
        )
        assert accepted.status_code == 202, accepted.content
        location = accepted["Location"]

        assert api.get(location).status_code == 404  # no key: not the caller
        other_headers, other_query = sent("someone-else")
        assert api.get(location + other_query, headers=other_headers).status_code == 404
        response = api.get(location + query, headers=headers)
        assert response.status_code == 200
        assert response.json()["id"] == accepted.json()["id"]

    def test_a_bearer_job_needs_the_same_token(self, api, upstream):
        load(document("{type: bearer, token: '{{CALLER_KEY}}'}"), base_uri=upstream.url)
        bearer = {"authorization": f"Bearer {KEY}"}
        accepted = api.get("/rest/guarded/things", headers={**bearer, "prefer": "respond-async"})
        assert accepted.status_code == 202

        assert api.get(accepted["Location"]).status_code == 404
        assert api.get(accepted["Location"], headers=bearer).status_code == 200
