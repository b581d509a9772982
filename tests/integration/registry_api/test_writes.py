"""Importing, replacing, deleting, exporting and validating through the registry API:
the importer of ``manage.py import_capability``, its messages, nothing half-written, and
the catalog serving every change (issue 13 point 1 and its acceptance)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from capabilities_app.store.models import Capability
from tests.conftest import PREFECT, SHIPYARD, database_state, run_command
from tests.integration.registry_api.conftest import API, CAPABILITIES

pytestmark = pytest.mark.django_db

YAML = "application/yaml"
ERROR_LINE = re.compile(r"^[^:\n]+:\d+:\d+: \S+: .+$", re.MULTILINE)
# A document with a mistake: an operation's method that is not one.
BROKEN = SHIPYARD.read_text().replace("method: GET", "method: FETCH", 1)


def post_yaml(client, text: str, name: str, headers: dict[str, str], url: str = CAPABILITIES):
    return client.post(f"{url}?name={name}", data=text, content_type=YAML, **headers)


def snapshot(client, headers: dict[str, str]) -> dict[str, object]:
    """The database, once the key's "last used" is written (at most once a minute)."""
    assert client.get(CAPABILITIES, **headers).status_code == 200
    return database_state()


def served_status(client, path: str) -> int:
    """What the REST surface answers at ``path`` (404: no route there)."""
    return client.get(path).status_code


class TestPost:
    def test_a_yaml_body_is_imported_and_served(self, client, writer):
        assert served_status(client, "/rest/fleet-api/ships") == 404
        response = post_yaml(client, SHIPYARD.read_text(), "shipyard-fleet", writer)
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "created"
        assert body["line"] == "created shipyard-fleet (2 operations, 2 tools)"
        assert response["Location"] == body["url"]
        assert Capability.objects.get(name="shipyard-fleet").source_document == (
            SHIPYARD.read_text()
        )
        # The stamp moved: the REST surface serves the new routes (no FLEET_TOKEN: 503).
        assert served_status(client, "/rest/fleet-api/ships") != 404

    def test_a_document_with_an_error_is_400_with_the_commands_message_and_nothing_written(
        self, client, writer, tmp_path, monkeypatch
    ):
        run_command("import_capability", str(PREFECT))
        before = snapshot(client, writer)
        response = post_yaml(client, BROKEN, "broken-fleet", writer)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "invalid_document"
        assert database_state() == before
        # The command, over the same text in a file of the same name, prints the same lines.
        monkeypatch.chdir(tmp_path)
        (tmp_path / "broken-fleet.yaml").write_text(BROKEN)
        result = run_command("import_capability", "broken-fleet.yaml")
        assert result.code == 1
        printed = ERROR_LINE.findall(result.stderr)
        assert printed
        assert [e["message"] for e in problem["errors"]] == printed
        assert problem["detail"] == "\n".join(printed)
        first = problem["errors"][0]
        assert printed[0].startswith(f"broken-fleet.yaml:{first['line']}:{first['column']}: ")
        assert database_state() == before

    def test_a_multipart_upload_is_named_by_its_file(self, client, writer):
        upload = SimpleUploadedFile("harbour.yaml", SHIPYARD.read_bytes(), content_type=YAML)
        response = client.post(CAPABILITIES, {"file": upload}, **writer)
        assert response.status_code == 201, response.content
        assert response.json()["name"] == "harbour"
        assert Capability.objects.filter(name="harbour").exists()

    def test_an_existing_name_is_409_and_unchanged(self, client, writer, seeds):
        before = snapshot(client, writer)
        response = post_yaml(client, SHIPYARD.read_text(), "shipyard-fleet", writer)
        assert response.status_code == 409
        assert response.json()["code"] == "capability_exists"
        assert database_state() == before

    def test_a_body_without_a_name_or_a_document_is_400(self, client, writer):
        response = client.post(CAPABILITIES, data=SHIPYARD.read_text(), content_type=YAML, **writer)
        assert response.status_code == 400
        assert response.json()["code"] == "document_missing"
        assert client.post(CAPABILITIES, **writer).json()["code"] == "document_missing"

    def test_another_media_type_is_415(self, client, writer):
        response = client.post(CAPABILITIES, data="{}", content_type="application/json", **writer)
        assert response.status_code == 415
        assert response["Content-Type"] == "application/problem+json"


class TestPutAndDelete:
    def test_put_replaces_and_the_change_is_served(self, client, writer, seeds):
        url = f"{CAPABILITIES}shipyard-fleet/"
        changed = SHIPYARD.read_text().replace("namespace: fleet-api", "namespace: armada-api")
        response = client.put(url, data=changed, content_type=YAML, **writer)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "updated"
        assert served_status(client, "/rest/fleet-api/ships") == 404
        assert served_status(client, "/rest/armada-api/ships") != 404
        again = client.put(url, data=changed, content_type=YAML, **writer)
        assert again.json()["status"] == "unchanged"

    def test_put_creates_a_missing_capability(self, client, writer):
        url = f"{CAPABILITIES}shipyard-fleet/"
        response = client.put(url, data=SHIPYARD.read_text(), content_type=YAML, **writer)
        assert response.status_code == 201
        assert response["Location"].endswith("/api/v1/capabilities/shipyard-fleet/")

    def test_put_with_an_error_writes_nothing(self, client, writer, seeds):
        before = snapshot(client, writer)
        url = f"{CAPABILITIES}shipyard-fleet/"
        response = client.put(url, data=BROKEN, content_type=YAML, **writer)
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"].startswith("shipyard-fleet.yaml:")
        assert database_state() == before

    def test_delete_removes_it_and_the_surface_stops_serving_it(self, client, writer, seeds):
        assert served_status(client, "/rest/fleet-api/ships") != 404
        response = client.delete(f"{CAPABILITIES}shipyard-fleet/", **writer)
        assert response.status_code == 204
        assert not Capability.objects.filter(name="shipyard-fleet").exists()
        assert served_status(client, "/rest/fleet-api/ships") == 404
        again = client.delete(f"{CAPABILITIES}shipyard-fleet/", **writer)
        assert again.status_code == 404


class TestExport:
    @pytest.mark.parametrize("inline", [False, True])
    def test_the_export_is_byte_equal_to_the_command(self, client, seeds, inline):
        query = "?inline_imports=true" if inline else ""
        response = client.get(f"{CAPABILITIES}prefect-account-billing/export/{query}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/yaml; charset=utf-8"
        assert response["Content-Security-Policy"] == "sandbox"
        flags = ["--inline-imports"] if inline else []
        command = run_command("export_capability", "prefect-account-billing", *flags)
        assert command.code == 0
        assert response.content == command.stdout.encode("utf-8")

    def test_an_unknown_capability_is_404(self, client):
        assert client.get(f"{CAPABILITIES}nothing/export/").status_code == 404


class TestValidate:
    def test_a_good_document_is_valid_and_nothing_is_written(self, client):
        before = database_state()
        response = client.post(
            f"{API}/validate/?name=shipyard-fleet", data=SHIPYARD.read_text(), content_type=YAML
        )
        assert response.status_code == 200, response.content
        assert response.json() == {
            "name": "shipyard-fleet",
            "valid": True,
            "operations": 2,
            "tools": 2,
            "warnings": [],
        }
        assert database_state() == before

    def test_a_bad_document_gets_the_validate_commands_lines(self, client, tmp_path, monkeypatch):
        response = client.post(f"{API}/validate/?name=broken-fleet", data=BROKEN, content_type=YAML)
        assert response.status_code == 400
        monkeypatch.chdir(tmp_path)
        (tmp_path / "broken-fleet.yaml").write_text(BROKEN)
        result = run_command("validate_capability", "broken-fleet.yaml")
        assert result.code == 1
        assert [e["message"] for e in response.json()["errors"]] == ERROR_LINE.findall(
            result.stderr
        )

    def test_a_namespace_another_capability_owns_is_reported(self, client, seeds):
        response = client.post(
            f"{API}/validate/?name=other-fleet", data=SHIPYARD.read_text(), content_type=YAML
        )
        assert response.status_code == 400
        assert {e["code"] for e in response.json()["errors"]} == {"namespace_taken"}
