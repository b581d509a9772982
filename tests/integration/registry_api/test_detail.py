"""A capability's detail: info, consumes (auth type only), operations and tools with the
URLs the registry serves them at (issue 13 point 1)."""

from __future__ import annotations

import json

import pytest

from capabilities_app.store import served
from capabilities_app.store.models import Consumes
from tests.integration.registry_api.conftest import CAPABILITIES

pytestmark = pytest.mark.django_db


def detail(client, name: str) -> dict:
    response = client.get(f"{CAPABILITIES}{name}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_info_and_dates(client, seeds):
    fleet = detail(client, "shipyard-fleet")
    assert fleet["label"] == "Shipyard Fleet"
    assert fleet["tags"] == ["Demo", "Shipyard"]
    assert (fleet["created"], fleet["modified"]) == ("2026-11-22", "2026-11-22")
    assert fleet["imported_at"] and fleet["updated_at"] and fleet["edited_at"] is None
    assert fleet["export_url"] == served.capability_api_url("shipyard-fleet", "export/")
    assert fleet["catalog_url"] == served.catalog_url("shipyard-fleet")


def test_consumes_shows_the_authentication_type_and_never_a_secret(client, seeds):
    Consumes.objects.filter(namespace="fleet").update(
        base_uri="https://robot:hunter2-secret@fleet.example/v1"
    )
    fleet = detail(client, "shipyard-fleet")
    (consumes,) = fleet["consumes"]
    assert consumes["namespace"] == "fleet"
    assert consumes["authentication_type"] == "bearer"
    assert consumes["base_uri"] == "https://fleet.example/v1"
    assert [op["name"] for op in consumes["operations"]] == ["list-ships", "get-ship"]
    text = json.dumps(fleet)
    for secret in ("hunter2-secret", "robot", "FLEET_TOKEN"):
        assert secret not in text


def test_operations_and_exposes_carry_the_served_urls(client, seeds):
    fleet = detail(client, "shipyard-fleet")
    ships = next(op for op in fleet["operations"] if op["name"] == "list-ships")
    assert ships["method"] == "GET"
    assert ships["url"] == served.rest_url("fleet-api", ships["path"])
    assert ships["calls"] == "fleet.list-ships"
    by_type = {e["type"]: e for e in fleet["exposes"]}
    assert by_type["rest"]["url"] == served.rest_base_url("fleet-api")
    assert by_type["rest"]["openapi_url"] == served.rest_openapi_url("fleet-api")
    assert by_type["rest"]["docs_url"] == served.rest_docs_url("fleet-api")
    assert by_type["mcp"]["url"] == served.mcp_url("fleet-tools")
    assert by_type["mcp"]["stdio_command"] == served.mcp_stdio_command("fleet-tools")
    # Never the document's own listeners.
    assert ":8080" not in json.dumps(fleet) and ":9090/" not in by_type["rest"]["url"]


def test_tools_with_their_hints(client, seeds):
    prefect = detail(client, "prefect-account-billing")
    assert len(prefect["operations"]) == 8
    assert len(prefect["tools"]) == 8
    billing = next(t for t in prefect["tools"] if t["name"] == "get-billing-details")
    assert billing["hints"] == {
        "readOnly": True,
        "destructive": False,
        "idempotent": True,
        "openWorld": None,
    }
    assert billing["url"] == served.mcp_url("prefect-account-billing-mcp")


def test_an_unknown_capability_is_a_404_problem(client, seeds):
    response = client.get(f"{CAPABILITIES}no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "capability_not_found"


def test_the_detail_reads_a_fixed_number_of_queries(client, seeds, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        detail(client, "prefect-account-billing")


def test_the_browsable_api_renders_for_a_browser(client, seeds):
    response = client.get(f"{CAPABILITIES}shipyard-fleet/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"Shipyard Fleet" in response.content
    # Registry-rendered pages are not sandboxed (their forms need scripts); nosniff stays.
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
