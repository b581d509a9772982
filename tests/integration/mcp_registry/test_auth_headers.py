"""The remote's headers say what a caller must send, required and secret, exactly when a
credential is required (``REGISTRY_REQUIRE_CLIENT_KEY``, or the expose's own
``authentication``); never a value (issue 13 point 4)."""

from __future__ import annotations

import pytest

from tests.integration.mcp_registry.conftest import (
    NAMESPACE,
    import_text,
    schema_errors,
    server_path,
    small,
)

pytestmark = pytest.mark.django_db

OWN = {
    "bearer": "    authentication: {type: bearer, token: '{{DESK_TOKEN}}'}\n",
    "basic": "    authentication: {type: basic, username: desk, password: '{{DESK_PASSWORD}}'}\n",
    "apikey": (
        "    authentication: {type: apikey, key: X-Desk-Key, value: '{{DESK_KEY}}', "
        "placement: header}\n"
    ),
    "apikey-query": (
        "    authentication: {type: apikey, key: desk_key, value: '{{DESK_KEY}}', "
        "placement: query}\n"
    ),
}


def remote(client, namespace: str = "desk-tools") -> dict:
    response = client.get(server_path(f"{NAMESPACE}/{namespace}", "/versions/latest"))
    assert response.status_code == 200, response.content
    server = response.json()["server"]
    assert schema_errors(server) == []
    (only,) = server["remotes"]
    return only


def headers_of(client, namespace: str = "desk-tools") -> dict[str, dict]:
    return {header["name"]: header for header in remote(client, namespace).get("headers", [])}


def assert_secret(header: dict) -> None:
    assert header["isRequired"] is True
    assert header["isSecret"] is True
    for variable in header.get("variables", {}).values():
        assert variable["isRequired"] is True
        assert variable["isSecret"] is True
    # A template at most: the registry never hands out a credential.
    assert header.get("value", "") in (
        "",
        "Bearer {client_key}",
        "Bearer {token}",
        "Basic {credentials}",
    )


@pytest.fixture
def open_desk(namespace, tmp_path, settings):
    import_text(tmp_path, "desk", small("desk"))


def test_no_header_when_no_credential_is_required(client, open_desk, settings):
    settings.REGISTRY_REQUIRE_CLIENT_KEY = False
    assert "headers" not in remote(client)


def test_the_client_key_when_keys_are_required(client, open_desk, settings):
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    headers = headers_of(client)
    assert list(headers) == ["Authorization"]
    assert_secret(headers["Authorization"])
    assert headers["Authorization"]["value"] == "Bearer {client_key}"
    assert "client_key" in headers["Authorization"]["variables"]
    assert "access token" not in headers["Authorization"]["description"]


def test_an_access_token_is_named_when_oauth_is_on(client, open_desk, settings):
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    settings.REGISTRY_OAUTH_ISSUER = "https://issuer.example.test"
    assert "access token" in headers_of(client)["Authorization"]["description"]


@pytest.mark.parametrize("required", [True, False])
@pytest.mark.parametrize(
    ("kind", "header", "value"),
    [
        ("bearer", "Authorization", "Bearer {token}"),
        ("basic", "Authorization", "Basic {credentials}"),
        ("apikey", "X-Desk-Key", None),
    ],
)
def test_the_exposes_own_authentication(
    client, namespace, tmp_path, settings, required, kind, header, value
):
    """The expose's own credential is required whatever the setting; the registry's key
    is not asked beside it (it decides alone, REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH off)."""
    settings.REGISTRY_REQUIRE_CLIENT_KEY = required
    import_text(tmp_path, "desk", small("desk", authentication=OWN[kind]))
    headers = headers_of(client)
    assert list(headers) == [header]
    assert_secret(headers[header])
    assert headers[header].get("value") == value


def test_the_registry_key_beside_the_exposes_own(client, namespace, tmp_path, settings):
    """REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH: the registry's key too, in X-API-Key."""
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH = True
    import_text(tmp_path, "desk", small("desk", authentication=OWN["bearer"]))
    headers = headers_of(client)
    assert list(headers) == ["Authorization", "X-API-Key"]
    for header in headers.values():
        assert_secret(header)
    assert "value" not in headers["X-API-Key"]


def test_an_api_key_in_the_query_names_no_header(client, namespace, tmp_path, settings):
    """A query parameter is not a header: none is listed (docs/mcp-registry.md)."""
    settings.REGISTRY_REQUIRE_CLIENT_KEY = False
    import_text(tmp_path, "desk", small("desk", authentication=OWN["apikey-query"]))
    assert "headers" not in remote(client)


def test_no_secret_value_reaches_a_document(client, namespace, tmp_path, settings, monkeypatch):
    """The bound secrets exist in the environment; no document carries one."""
    monkeypatch.setenv("DESK_TOKEN", "desk-secret-token-0451")
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH = True
    import_text(tmp_path, "desk", small("desk", authentication=OWN["bearer"]))
    body = client.get("/v0.1/servers").content.decode()
    assert "desk-secret-token-0451" not in body
    assert "DESK_TOKEN" not in body
