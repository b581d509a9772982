"""Imports and admin edits change what is served, without a restart; warm requests read no DB."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from capabilities_app.store.models import Consumes, ExposedOperation, ExposedResource
from tests.conftest import PREFECT, SHIPYARD
from tests.integration.rest.conftest import load
from tests.support.admin_forms import edit
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import Answer, RecordingUpstream

SHIPS = [{"imo_number": "IMO-1", "vessel_name": "Aurora", "operational_status": "active"}]


@pytest.fixture
def staff(admin_user, settings) -> Client:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin_user)
    return client


@pytest.fixture
def fleet(upstream, monkeypatch):
    monkeypatch.setenv("FLEET_TOKEN", "fleet-token")
    upstream.answer("GET", "/ships", Answer(200, SHIPS))
    return load(SHIPYARD, base_uri=upstream.url)


@pytest.mark.django_db
class TestAdminEdits:
    def test_an_edited_exposed_path_answers_on_the_next_request(self, api, staff, fleet):
        assert api.get("/rest/fleet-api/ships").status_code == 200
        resource = ExposedResource.objects.get(expose__namespace="fleet-api", path="/ships")
        response = edit(staff, resource, {"path": "/vessels"})
        assert response.status_code == 302
        assert api.get("/rest/fleet-api/vessels").json() == [
            {"imo": "IMO-1", "name": "Aurora", "status": "active"}
        ]
        assert api.get("/rest/fleet-api/ships").status_code == 404

    def test_an_edited_with_mapping_changes_the_upstream_request(self, api, staff, upstream, fleet):
        api.get("/rest/fleet-api/ships?status=active")
        assert upstream.received[-1].query == [("status", "active")]
        operation = ExposedOperation.objects.get(
            name="list-ships", resource__expose__namespace="fleet-api"
        )
        response = edit(staff, operation, {"with_values": json.dumps({"status": "laid_up"})})
        assert response.status_code == 302
        api.get("/rest/fleet-api/ships?status=active")
        assert upstream.received[-1].query == [("status", "laid_up")]

    def test_a_base_uri_set_in_the_admin_configures_the_upstream(self, api, staff, upstream):
        load(PREFECT)
        path = "/rest/prefect-account-billing-rest/v1/api/billing/acc-1/details"
        assert api.get(path).status_code == 503
        consumes = Consumes.objects.get(namespace="prefect-account-billing")
        assert edit(staff, consumes, {"base_uri": upstream.url}).status_code == 302
        assert api.get(path).status_code == 200
        assert upstream.only().path == "/api/billing/acc-1/details"

    def test_disabling_in_the_admin_stops_serving(self, api, staff, fleet):
        response = staff.post(
            "/admin/capabilities_app/capability/",
            {"action": "disable_action", "_selected_action": [fleet.pk]},
        )
        assert response.status_code == 302
        assert api.get("/rest/fleet-api/ships").status_code == 404


@pytest.mark.django_db
def test_a_warm_request_reads_no_database(api, fleet, settings):
    settings.REGISTRY_CATALOG_CHECK_SECONDS = 3600
    assert api.get("/rest/fleet-api/ships").status_code == 200  # builds the catalog
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/rest/fleet-api/ships/IMO-1")
    assert response.status_code in (200, 404)
    assert queries.captured_queries == []


@pytest.mark.processes
def test_an_import_reaches_every_web_process_without_restart(tmp_path: Path):
    """Two gunicorn workers; a change imported by another process is served by both."""
    fleet = RecordingUpstream().start()
    fleet.answer("GET", "/ships", Answer(200, SHIPS))
    registry = RegistryProcess(
        tmp_path, REGISTRY_CATALOG_CHECK_SECONDS="0.5", FLEET_TOKEN="fleet-token"
    )
    try:
        registry.import_document(SHIPYARD, name="shipyard-fleet", base_uri=fleet.url)
        web = registry.start_web(workers=2)
        with httpx.Client(base_url=web) as client:
            # Warm every worker's catalog, then change the document in another process.
            for _ in range(20):
                assert client.get("/rest/fleet-api/ships").status_code == 200
            moved = SHIPYARD.read_text().replace(
                'path: "/ships"\n          description: "Ships',
                'path: "/vessels"\n          description: "Ships',
            )
            registry.import_document(moved, name="shipyard-fleet", base_uri=fleet.url)
            # The change is visible once the check interval (0.5 s) has passed, in every worker.
            time.sleep(0.6)
            statuses = {client.get("/rest/fleet-api/vessels").status_code for _ in range(30)}
            gone = {client.get("/rest/fleet-api/ships").status_code for _ in range(30)}
            assert statuses == {200}
            assert gone == {404}
    finally:
        registry.stop()
        fleet.stop()
