"""The framework's tutorial capabilities answer as their documents describe.

Their upstream (the framework's hosted mock) is replaced by the recording upstream,
programmed with the fleet data the tutorials expect; their secrets come from their
own ``file://`` bind maps.
"""

from __future__ import annotations

import json

import pytest

from capabilities_app.runtime.callers import ArgumentsCaller
from capabilities_app.runtime.catalog import get_catalog
from capabilities_app.runtime.invoke import invoke
from tests.conftest import CORPUS
from tests.integration.rest.conftest import load
from tests.support.upstream import Answer

pytestmark = pytest.mark.django_db

FRAMEWORK = CORPUS / "naftiko__framework"
TUTORIAL = FRAMEWORK / "tutorial"

SHIP = {
    "imo_number": "IMO-9321483",
    "vessel_name": "Northern Star",
    "vessel_type": "cargo",
    "flag_code": "NO",
    "operational_status": "active",
    "year_built": 2009,
    "gross_tonnage": 51000,
    "dimensions": {"length_overall": 229.5},
    "assignedCrew": ["C1", "C3"],
}
CREW = [
    {"crewId": "C1", "fullName": "Ada Lovelace", "role": "captain", "rank": 1},
    {"crewId": "C2", "fullName": "Grace Hopper", "role": "navigator", "rank": 2},
    {"crewId": "C3", "fullName": "Alan Turing", "role": "engineer", "rank": 3},
]
SHIP_WITH_CREW = {
    "imo": "IMO-9321483",
    "name": "Northern Star",
    "type": "cargo",
    "flag": "NO",
    "status": "active",
    "yearBuilt": 2009,
    "tonnage": 51000,
    "length": 229.5,
    "crew": [
        {"fullName": "Ada Lovelace", "role": "captain"},
        {"fullName": "Alan Turing", "role": "engineer"},
    ],
}


@pytest.fixture
def fleet(upstream):
    upstream.answer("GET", "/ships/IMO-9321483", Answer(200, SHIP))
    upstream.answer("GET", "/crew", Answer(200, CREW))
    upstream.answer("GET", "/ships", Answer(200, [SHIP]))
    return upstream


def test_step_7_steps_with_lookup_over_rest(api, fleet):
    load(TUTORIAL / "step-7-shipyard-orchestrated-lookup.yml", base_uri=fleet.url)
    response = api.get("/rest/shipyard-api/ships/IMO-9321483/crew")
    assert response.status_code == 200, response.content
    assert response.json() == SHIP_WITH_CREW
    get_ship, list_crew = fleet.received
    assert (get_ship.path, list_crew.path) == ("/ships/IMO-9321483", "/crew")
    # The shared consumes adds its bearer token and version header from the file binds.
    assert get_ship.header("authorization") == "Bearer dummy-token"
    assert get_ship.header("Registry-Version") == "1.0.0-alpha2"


def test_step_10_ref_to_an_aggregate_function(api, fleet):
    load(TUTORIAL / "step-10-shipyard-rest-adapter.yml", base_uri=fleet.url)
    response = api.get("/rest/shipyard-api/ships/IMO-9321483/crew")
    assert response.status_code == 200, response.content
    assert response.json() == SHIP_WITH_CREW


def test_step_10_shapes_a_list_property_by_property(api, fleet):
    load(TUTORIAL / "step-10-shipyard-rest-adapter.yml", base_uri=fleet.url)
    response = api.get("/rest/shipyard-api/ships?status=active")
    assert response.json() == [
        {
            "imo": "IMO-9321483",
            "name": "Northern Star",
            "type": "cargo",
            "flag": "NO",
            "status": "active",
        }
    ]
    assert fleet.only().query == [("status", "active")]


def test_step_11_manifest_with_lookups_on_projected_outputs(api, fleet):
    voyage = {
        "voyageId": "V-1",
        "status": "planned",
        "shipImo": "IMO-9321483",
        "departurePort": "Oslo",
        "arrivalPort": "Rotterdam",
        "crewIds": ["C2"],
        "cargoIds": ["K1"],
    }
    fleet.answer("GET", "/voyages/V-1", Answer(200, voyage))
    fleet.answer(
        "GET",
        "/cargo",
        Answer(
            200,
            [
                {
                    "cargoId": "K1",
                    "type": "steel",
                    "description": "coils",
                    "weight": 20,
                    "hazardous": False,
                }
            ],
        ),
    )
    load(TUTORIAL / "step-11-shipyard-fleet-manifest.yml", base_uri=fleet.url)
    cargo = [{"type": "steel", "description": "coils", "weight": 20, "hazardous": False}]
    crew = [{"fullName": "Grace Hopper", "role": "navigator"}]
    response = api.get("/rest/shipyard-api/voyages/V-1/manifest")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "voyageId": "V-1",
        "status": "planned",
        "departurePort": "Oslo",
        "arrivalPort": "Rotterdam",
        "shipName": "Northern Star",
        "shipType": "cargo",
        "shipFlag": "NO",
        "crew": crew,
        "cargo": cargo,
    }
    # The MCP tool of the same document builds nested objects from dotted targets.
    tool = get_catalog().mcp["shipyard-tools"].tools["get-voyage-manifest"]
    manifest = invoke(tool, ArgumentsCaller({"voyageId": "V-1"})).data
    assert manifest["route"] == {"from": "Oslo", "to": "Rotterdam"}
    assert manifest["ship"] == {"name": "Northern Star", "type": "cargo", "flag": "NO"}
    assert (manifest["crew"], manifest["cargo"]) == (crew, cargo)


def test_step_1_mock_tool_answers_without_any_upstream(upstream):
    load(TUTORIAL / "step-1-shipyard-mock.yml")
    tool = get_catalog().mcp["shipyard-tools"].tools["get-ship"]
    outcome = invoke(tool, ArgumentsCaller({"imo_number": "IMO-1"}))
    assert outcome.status == 200
    assert outcome.data == {
        "imo": "IMO-1",
        "name": "Northern Star",
        "type": "cargo",
        "flag": "NO",
        "status": "active",
    }
    assert upstream.received == []


def test_step_9_aggregate_through_an_mcp_tool(fleet):
    load(TUTORIAL / "step-9-shipyard-aggregates.yml", base_uri=fleet.url)
    tool = get_catalog().mcp["shipyard-tools"].tools["get-ship-with-crew"]
    outcome = invoke(tool, ArgumentsCaller({"imo": "IMO-9321483"}))
    assert outcome.data == SHIP_WITH_CREW


def test_xml_capability(api, upstream):
    upstream.answer(
        "GET",
        "/api/users",
        Answer(
            200,
            "<root><user><id>1</id><name>Ada</name><email>ada@example.org</email></user>"
            "<user><id>2</id><name>Bo</name><email>bo@example.org</email></user></root>",
            content_type="application/xml",
        ),
    )
    load(FRAMEWORK / "xml-capability.yaml", base_uri=upstream.url)
    response = api.get("/rest/test-xml/xml/users")
    assert response.json() == [
        {"id": "1", "name": "Ada", "email": "ada@example.org"},
        {"id": "2", "name": "Bo", "email": "bo@example.org"},
    ]
    assert upstream.only().header("User-Agent") == "Naftiko/1.0.0-alpha2"


def test_http_body_capability(api, upstream):
    load(FRAMEWORK / "http-body-capability.yaml", base_uri=upstream.url)
    document = (FRAMEWORK / "http-body-capability.yaml").read_text()
    assert "body" in document
    response = api.post(
        "/rest/test-http-body/users",
        data=json.dumps({"name": "Ada", "email": "ada@example.org"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert upstream.only().method == "POST"


def test_forward_proxies_the_rest_of_the_path(api, upstream):
    load(FRAMEWORK / "http-forward-value-capability.yaml", base_uri=upstream.url)
    response = api.get("/rest/sample/forward/a/b?x=1", headers={"authorization": "Bearer caller"})
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert (received.path, received.query) == ("/a/b", [("x", "1")])
    assert received.header("X-API-Version") == "2026-03-03"
    assert received.header("X-API-Key") == "secret-key-123"
    assert received.header("authorization") is None  # not a trusted header


@pytest.mark.parametrize(
    "path", ["/rest/sample/forward/a/../../admin", "/rest/sample/forward/%2E%2E/x"]
)
def test_forward_refuses_dot_segments(api, upstream, path):
    load(FRAMEWORK / "http-forward-value-capability.yaml", base_uri=upstream.url)
    response = api.get(path, RAW_URI=path)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert upstream.received == []


def test_forward_keeps_encoded_characters_in_the_path(api, upstream):
    load(FRAMEWORK / "http-forward-value-capability.yaml", base_uri=upstream.url)
    raw = "/rest/sample/forward/a%3Fb/c%23d?x=1"
    response = api.get(raw, RAW_URI=raw, QUERY_STRING="x=1")
    assert response.status_code == 200
    received = upstream.only()
    assert (received.raw_path, received.query) == ("/a%3Fb/c%23d", [("x", "1")])
