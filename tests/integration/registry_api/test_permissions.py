"""Who may read and write through the registry API: client keys, ``registry:write``,
staff users (session and Basic), and what everyone else gets (issue 13 point 1)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from capabilities_app.access import keytable
from capabilities_app.access.clients import REGISTRY_WRITE, Grants
from capabilities_app.store.models import Capability, ClientGrant
from tests.conftest import SHIPYARD, database_state, run_command
from tests.integration.registry_api.conftest import CAPABILITIES, STAFF_PASSWORD
from tests.support.keys import revoke

pytestmark = pytest.mark.django_db

YAML = "application/yaml"


def post(client, headers: dict[str, str], name: str = "shipyard-fleet"):
    return client.post(
        f"{CAPABILITIES}?name={name}", data=SHIPYARD.read_text(), content_type=YAML, **headers
    )


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    return body


class TestReadsWithKeysRequired:
    @pytest.fixture(autouse=True)
    def required(self, keys_required, seeds):
        pass

    def test_anonymous_is_401_with_a_challenge(self, client):
        response = client.get(CAPABILITIES)
        problem(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_an_unknown_or_revoked_key_is_401(self, client, reader):
        problem(
            client.get(CAPABILITIES, HTTP_X_API_KEY="crk_00000000_" + "x" * 43),
            401,
            "invalid_client_key",
        )
        revoke("registry-reader")
        response = client.get(CAPABILITIES, **reader)
        body = problem(response, 401, "invalid_client_key")
        assert "revoked" in body["detail"]
        assert reader["HTTP_X_API_KEY"] not in response.content.decode()

    def test_any_valid_key_reads(self, client, reader):
        assert client.get(CAPABILITIES, **reader).status_code == 200
        assert client.get(f"{CAPABILITIES}shipyard-fleet/", **reader).status_code == 200
        export = client.get(f"{CAPABILITIES}shipyard-fleet/export/", **reader)
        assert export.status_code == 200

    def test_a_staff_session_reads(self, client, staff):
        assert client.login(username=staff.username, password=STAFF_PASSWORD)
        assert client.get(CAPABILITIES).status_code == 200


def test_reads_are_open_when_keys_are_not_required(client, seeds, settings):
    settings.REGISTRY_REQUIRE_CLIENT_KEY = False
    assert client.get(CAPABILITIES).status_code == 200
    problem(post(client, {}, "other"), 401, "not_authenticated")


class TestWrites:
    def test_anonymous_is_401_and_nothing_written(self, client):
        before = database_state()
        problem(post(client, {}), 401, "not_authenticated")
        assert database_state() == before

    def test_a_key_without_registry_write_is_403_and_nothing_written(self, client, reader):
        client.get(CAPABILITIES, **reader)  # its "last used" written first
        before = database_state()
        body = problem(post(client, reader), 403, "not_granted")
        assert "registry:write" in body["detail"]
        problem(client.delete(f"{CAPABILITIES}x/", **reader), 403, "not_granted")
        assert database_state() == before

    def test_a_key_granted_registry_write_writes(self, client, writer):
        assert post(client, writer).status_code == 201
        assert client.delete(f"{CAPABILITIES}shipyard-fleet/", **writer).status_code == 204

    def test_the_key_is_also_read_from_x_api_key(self, client, writer_key):
        assert post(client, {"HTTP_X_API_KEY": writer_key}).status_code == 201

    def test_registry_write_grants_no_call_of_a_capability(self, writer_key):
        """The grant is read apart: a capability named "registry" is not reachable by it."""
        client = keytable.find_client(writer_key)
        assert client.grants.registry_write
        assert not client.grants.touches("registry")
        assert not client.grants.allows(*REGISTRY_WRITE)

    def test_a_staff_session_writes_with_its_csrf_token(self, staff):
        browser = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
        assert browser.login(username=staff.username, password=STAFF_PASSWORD)
        problem(post(browser, {}), 403, "permission_denied")  # no CSRF token
        assert not Capability.objects.exists()
        browser.get(CAPABILITIES, HTTP_ACCEPT="text/html")  # the browsable page sets it
        token = browser.cookies["csrftoken"].value
        assert post(browser, {"HTTP_X_CSRFTOKEN": token}).status_code == 201

    def test_staff_over_http_basic_writes(self, client, staff_basic):
        assert post(client, staff_basic).status_code == 201

    def test_a_user_who_is_not_staff_is_403(self, client, staff_basic, staff):
        staff.is_staff = False
        staff.save()
        body = problem(post(client, staff_basic), 403, "not_granted")
        assert "not staff" in body["detail"]

    def test_staff_without_the_admin_permission_is_403_and_nothing_written(
        self, client, staff_basic, staff
    ):
        staff.user_permissions.clear()
        body = problem(post(client, staff_basic), 403, "not_granted")
        assert "capabilities_app.add_capability" in body["detail"]
        assert not Capability.objects.exists()

    def test_a_wrong_password_is_401(self, client, staff):
        problem(
            post(client, {"HTTP_AUTHORIZATION": "Basic cmVnaXN0cnktc3RhZmY6bm8="}),
            401,
            "authentication_failed",
        )

    def test_no_key_is_logged(self, client, writer, writer_key, reader, caplog):
        with caplog.at_level(logging.DEBUG):
            post(client, writer)
            post(client, reader, "another")
        assert writer_key not in caplog.text
        assert reader["HTTP_X_API_KEY"] not in caplog.text


class TestTheGrant:
    def test_create_client_key_grants_registry_write(self):
        result = run_command("create_client_key", "deployer", "--grant", "registry:write")
        assert result.code == 0, result.stderr
        assert "registry:write" in result.stderr
        assert ClientGrant.objects.filter(
            key__name="deployer", capability="registry", target="write"
        ).exists()

    def test_other_registry_targets_are_still_refused(self):
        result = run_command("create_client_key", "deployer", "--grant", "registry:read")
        assert result.code == 1
        assert "no capability 'registry'" in result.stderr

    def test_parsed_from_text(self):
        grants = Grants.parse(["registry:write", "shipyard-fleet"])
        assert grants.registry_write and grants.whole == {"shipyard-fleet"}
        assert not grants.targets
        assert not Grants.parse(["registry"]).registry_write
