"""Answers (RUNTIME-CONTRACT §5): mapping, formats, pass-through, and the registry's errors."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.conftest import PREFECT, SHIPYARD
from tests.integration.rest.conftest import load
from tests.support.upstream import Answer

pytestmark = pytest.mark.django_db

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Responses, description: Output shaping and errors.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: report
      path: /report
      operations:
      - {name: report, method: GET}
      - name: report-xml
        method: POST
        outputRawFormat: xml
      - name: report-csv
        method: PUT
        outputRawFormat: csv
    - name: script
      path: /script
      operations:
      - {name: script, method: GET}
  exposes:
  - type: rest
    namespace: out
    port: 8080
    resources:
    - path: /data
      operations:
      - method: GET
        call: up.report
        outputParameters:
        - {type: object, mapping: $.data}
    - path: /passthrough
      operations:
      - method: GET
        call: up.report
        outputParameters:
        - {type: object, mapping: $.}
    - path: /raw
      operations:
      - {method: GET, call: up.report}
    - path: /shaped
      operations:
      - method: GET
        call: up.report
        outputParameters:
        - type: object
          properties:
            id: {type: string, mapping: $.data.id}
            owner:
              type: object
              properties:
                name: {type: string, mapping: $.data.owner.full_name}
            tags:
              type: array
              mapping: $.data.tags
              items: {type: string, mapping: $.}
    - path: /xml
      operations:
      - method: POST
        call: up.report-xml
        outputParameters:
        - type: array
          mapping: $.users.user
          items:
            type: object
            properties:
              id: {type: string, mapping: $.id}
              name: {type: string, mapping: $.name}
    - path: /csv
      operations:
      - method: PUT
        call: up.report-csv
        outputParameters:
        - {type: array, mapping: $.}
    - path: /scripted
      operations:
      - method: GET
        name: scripted
        steps:
        - {type: script, name: compute, language: javascript, location: file:///scripts, file: x.js}
"""

REPORT = {"data": {"id": "r-1", "owner": {"full_name": "Ada"}, "tags": ["a", "b"]}, "extra": 1}


@pytest.fixture
def out(upstream):
    upstream.answer("GET", "/report", Answer(200, REPORT))
    return load(DOCUMENT, base_uri=upstream.url, name="out")


class TestMapping:
    def test_jsonpath_selects_a_member(self, api, out):
        response = api.get("/rest/out/data")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response.json() == REPORT["data"]

    def test_property_by_property(self, api, out):
        assert api.get("/rest/out/shaped").json() == {
            "id": "r-1",
            "owner": {"name": "Ada"},
            "tags": ["a", "b"],
        }

    def test_dollar_dot_passes_the_document_through_unchanged(self, api, upstream, out):
        raw = b'{"data":   {"id": "r-1"},  "odd spacing": true}'
        upstream.answer(
            "GET", "/report", Answer(200, raw, content_type="application/json; charset=utf-8")
        )
        response = api.get("/rest/out/passthrough")
        assert response.content == raw
        assert response["Content-Type"] == "application/json; charset=utf-8"

    def test_no_output_parameters_gives_the_body_as_it_came(self, api, upstream, out):
        upstream.answer("GET", "/report", Answer(200, "plain text", content_type="text/plain"))
        response = api.get("/rest/out/raw")
        assert (response.content, response["Content-Type"]) == (b"plain text", "text/plain")

    def test_xml_is_converted_before_mapping(self, api, upstream, out):
        xml = (
            "<users><user><id>1</id><name>Ada</name></user>"
            "<user><id>2</id><name>Bo</name></user></users>"
        )
        upstream.answer("POST", "/report", Answer(200, xml, content_type="application/xml"))
        assert api.post("/rest/out/xml").json() == [
            {"id": "1", "name": "Ada"},
            {"id": "2", "name": "Bo"},
        ]

    def test_csv_is_converted(self, api, upstream, out):
        upstream.answer(
            "PUT", "/report", Answer(200, "id,name\n1,Ada\n2,Bo\n", content_type="text/csv")
        )
        assert api.put("/rest/out/csv").json() == [
            {"id": "1", "name": "Ada"},
            {"id": "2", "name": "Bo"},
        ]

    def test_an_answer_that_does_not_parse_is_502(self, api, upstream, out):
        upstream.answer("GET", "/report", Answer(200, "not json", content_type="application/json"))
        response = api.get("/rest/out/data")
        assert response.status_code == 502
        assert response.json()["code"] == "upstream_invalid"


class TestUpstreamErrors:
    @pytest.mark.parametrize("status", [404, 500])
    def test_status_and_body_pass_through_unmapped(self, api, upstream, out, status):
        body = {"error": f"upstream says {status}"}
        upstream.answer(
            "GET", "/report", Answer(status, body, content_type="application/vnd.err+json")
        )
        response = api.get("/rest/out/data")
        assert response.status_code == status
        assert response.json() == body
        assert response["Content-Type"] == "application/vnd.err+json"

    def test_connection_refused_is_502(self, api):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        load(DOCUMENT, base_uri=f"http://127.0.0.1:{port}", name="out")
        response = api.get("/rest/out/data")
        assert response.status_code == 502
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "upstream_unreachable"

    def test_slow_upstream_is_504_within_the_timeout(self, api, upstream, out, settings):
        settings.REGISTRY_UPSTREAM_TIMEOUT = 0.5
        upstream.answer("GET", "/report", Answer(200, REPORT, delay=3))
        start = time.monotonic()
        response = api.get("/rest/out/data")
        elapsed = time.monotonic() - start
        assert response.status_code == 504
        assert response.json()["code"] == "upstream_timeout"
        assert "0.5 s" in response.json()["detail"]
        assert elapsed < settings.REGISTRY_UPSTREAM_TIMEOUT + 1

    def test_private_addresses_are_refused(self, api, upstream, out, settings):
        settings.REGISTRY_UPSTREAM_ALLOWED_NETWORKS = []
        response = api.get("/rest/out/data")
        assert response.status_code == 403
        assert response.json()["code"] == "upstream_forbidden"
        assert "REGISTRY_UPSTREAM_ALLOWED_NETWORKS" in response.json()["detail"]
        assert upstream.received == []

    def test_redirects_are_not_followed(self, api, upstream, out):
        upstream.answer(
            "GET", "/report", Answer(302, "", headers={"Location": "http://169.254.169.254/"})
        )
        response = api.get("/rest/out/raw")
        assert response.status_code == 302
        assert len(upstream.received) == 1


class TestRegistryErrors:
    def test_unknown_route_is_404_problem(self, api, out):
        response = api.get("/rest/out/nothing-here")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json() == {
            "type": "about:blank",
            "title": "No such route",
            "status": 404,
            "detail": "no REST operation is served at /rest/out/nothing-here",
            "code": "route_not_found",
            "instance": "/rest/out/nothing-here",
        }

    def test_wrong_method_is_405_with_allow(self, api, upstream, out):
        response = api.delete("/rest/out/data")
        assert response.status_code == 405
        assert response["Allow"] == "GET"
        assert response.json()["code"] == "method_not_allowed"
        assert upstream.received == []

    def test_head_runs_get_without_a_body(self, api, upstream, out):
        response = api.head("/rest/out/data")
        assert response.status_code == 200
        assert response.content == b""
        assert upstream.only().method == "GET"

    def test_body_over_the_limit_is_413(self, api, upstream, out, settings):
        settings.REGISTRY_MAX_BODY_BYTES = 100
        response = api.post(
            "/rest/out/xml", data=json.dumps({"x": "y" * 200}), content_type="application/json"
        )
        assert response.status_code == 413
        assert response.json()["code"] == "body_too_large"
        assert upstream.received == []

    def test_empty_base_uri_is_503_naming_the_consumes(self, api, upstream):
        load(PREFECT)  # baseUri: '' as published
        response = api.get("/rest/prefect-account-billing-rest/v1/api/billing/a-1/details")
        assert response.status_code == 503
        problem = response.json()
        assert problem["code"] == "upstream_not_configured"
        assert "'prefect-account-billing'" in problem["detail"]

    def test_templated_base_uri_without_a_value_is_503(self, api, upstream):
        document = SHIPYARD.read_text().replace(
            "http://127.0.0.1:8765", "https://{{REGION}}.fleet.example"
        )
        load(document, name="fleet")
        response = api.get("/rest/fleet-api/ships")
        assert response.status_code == 503
        assert response.json()["code"] == "upstream_not_configured"
        assert upstream.received == []

    def test_script_steps_are_501_naming_the_step(self, api, out):
        response = api.get("/rest/out/scripted")
        assert response.status_code == 501
        assert response.json()["code"] == "step_not_supported"
        assert "'compute'" in response.json()["detail"]

    def test_disabled_capabilities_are_not_served(self, api, out):
        from capabilities_app.store import versioning

        out.enabled = False
        out.save()
        versioning.bump()
        assert api.get("/rest/out/data").status_code == 404
