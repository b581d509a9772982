"""Caller parameters (RUNTIME-CONTRACT §3) and their placement upstream (§4).

Every test calls the registry's REST surface and reads what a real upstream on
127.0.0.1 received.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.rest.conftest import load

pytestmark = pytest.mark.django_db

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Parameters, description: Every source and placement of a parameter.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: items
      path: /items/{item_id}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - {name: item_id, in: path}
        - {name: verbose, in: query}
        - {name: X-Trace, in: header}
        - {name: session, in: cookie}
      - name: put-item
        method: PUT
        inputParameters:
        - {name: item_id, in: path}
        - {name: body, in: body, required: true}
    - name: search
      path: /search
      operations:
      - name: search
        method: POST
        inputParameters:
        - {name: term, in: body}
        - {name: limit, in: body}
        - {name: page, in: query, required: true}
        - {name: Api-Version, in: header, value: '2026-01'}
    - name: templated
      path: /orders/{{order}}/lines
      operations:
      - name: order-lines
        method: POST
        body: '{"order": "{{order}}", "quantity": {{quantity}}, "tags": {{tags}}}'
  exposes:
  - type: rest
    namespace: params
    port: 8080
    resources:
    - path: /items/{item-id}
      operations:
      - method: GET
        call: up.get-item
        with: {item_id: rest.item_id, verbose: rest.verbose, X-Trace: rest.X-Trace,
               session: rest.session}
      - method: PUT
        call: up.put-item
        with: {item_id: rest.item_id, body: rest.body}
    - path: /declared/{{id}}
      operations:
      - method: POST
        inputParameters:
        - {name: id, in: path, type: string, description: Identifier}
        - {name: q, in: query, type: integer, description: A number}
        - {name: h, in: header, type: string, description: A header}
        - {name: c, in: cookie, type: string, description: A cookie}
        - {name: b, in: body, type: string, description: Deep in the body, value: $.nested.value}
        call: up.get-item
        with: {item_id: params.id, verbose: params.q, X-Trace: params.h, session: params.b}
    - path: /search
      operations:
      - method: POST
        call: up.search
        with: {term: rest.term, limit: rest.limit, page: rest.page}
    - path: /orders/{order}
      operations:
      - method: POST
        call: up.order-lines
        with: {order: rest.order, quantity: rest.quantity, tags: rest.tags}
    - path: /orders
      operations:
      - method: POST
        call: up.order-lines
        with: {order: rest.order, quantity: rest.quantity, tags: rest.tags}
"""


@pytest.fixture
def params(upstream):
    return load(DOCUMENT, base_uri=upstream.url, name="params")


def post_json(api, path: str, body, **extra):
    return api.post(path, data=json.dumps(body), content_type="application/json", **extra)


class TestSources:
    def test_path_variable_feeds_a_normalised_reference(self, api, upstream, params):
        # {item-id} feeds rest.item_id
        response = api.get("/rest/params/items/42")
        assert response.status_code == 200, response.content
        assert upstream.only().path == "/items/42"

    def test_query_parameter_exact_and_normalised(self, api, upstream, params):
        api.get("/rest/params/items/1?verbose=yes")
        api.get("/rest/params/items/1?VERBOSE=loud")
        first, second = upstream.received
        assert first.query == [("verbose", "yes")]
        assert second.query == [("verbose", "loud")]

    def test_header_is_case_insensitive(self, api, upstream, params):
        api.get("/rest/params/items/1", headers={"x-trace": "abc"})
        assert upstream.only().header("X-Trace") == "abc"

    def test_body_fields_and_whole_body(self, api, upstream, params):
        post_json(api, "/rest/params/search?page=2", {"term": "ship", "limit": 5, "other": 1})
        received = upstream.only()
        assert received.json() == {"term": "ship", "limit": 5}  # several body params merge
        assert received.query == [("page", "2")]
        assert received.header("content-type") == "application/json"

    def test_body_means_the_whole_request_body(self, api, upstream, params):
        body = {"name": "new", "tags": ["a", "b"], "nested": {"x": 1}}
        response = api.put(
            "/rest/params/items/7", data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 200
        received = upstream.only()
        assert (received.method, received.path, received.json()) == ("PUT", "/items/7", body)

    def test_declared_parameters_read_their_location(self, api, upstream, params):
        api.cookies["c"] = "cookie-value"
        response = post_json(
            api,
            "/rest/params/declared/abc?q=12",
            {"nested": {"value": "from-jsonpath"}},
            headers={"h": "header-value"},
        )
        assert response.status_code == 200, response.content
        received = upstream.only()
        assert received.path == "/items/abc"
        assert received.query == [("verbose", "12")]
        assert received.header("X-Trace") == "header-value"
        assert received.header("cookie") == "session=from-jsonpath"

    def test_declared_type_is_checked(self, api, upstream, params):
        response = post_json(api, "/rest/params/declared/abc?q=twelve", {})
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_parameter"
        assert upstream.received == []


class TestPlacement:
    def test_query_header_and_cookie(self, api, upstream, params):
        api.get("/rest/params/items/1?verbose=1&session=s-1", headers={"x-trace": "t-1"})
        received = upstream.only()
        assert received.query == [("verbose", "1")]
        assert received.header("x-trace") == "t-1"
        assert received.header("cookie") == "session=s-1"

    def test_optional_parameters_without_value_are_left_out(self, api, upstream, params):
        api.get("/rest/params/items/1")
        received = upstream.only()
        assert received.query == []
        assert received.header("x-trace") is None
        assert received.header("cookie") is None

    def test_static_parameter_values_are_sent(self, api, upstream, params):
        post_json(api, "/rest/params/search?page=1", {"term": "x"})
        assert upstream.only().header("Api-Version") == "2026-01"

    def test_path_values_are_percent_encoded_as_one_segment(self, api, upstream, params):
        raw = "/rest/params/items/a%2Fb%20c"
        response = api.get(raw, RAW_URI=raw)  # the raw path, as gunicorn passes it
        assert response.status_code == 200, response.content
        assert upstream.only().raw_path == "/items/a%2Fb%20c"

    def test_the_proxys_request_uri_stands_in_for_a_server_without_raw_uri(
        self, api, upstream, params
    ):
        """Issue 12 point 3: granian gives no raw path; docs/nginx.conf's X-Request-URI does."""
        raw = "/rest/params/items/a%2Fb%20c"
        response = api.get(raw, headers={"X-Request-URI": f"{raw}?x=1"})
        assert response.status_code == 200, response.content
        assert upstream.only().raw_path == "/items/a%2Fb%20c"

    def test_a_request_uri_of_another_path_is_ignored(self, api, upstream, params):
        """It may keep an encoded ``/`` in a segment, never route to another path."""
        response = api.get("/rest/params/items/abc", headers={"X-Request-URI": "/rest/nope/x"})
        assert response.status_code == 200, response.content
        assert upstream.only().raw_path == "/items/abc"

    def test_values_from_the_body_are_encoded_in_the_path_too(self, api, upstream, params):
        post_json(api, "/rest/params/orders", {"order": "o 1/x", "quantity": 2, "tags": ["a"]})
        received = upstream.only()
        assert received.raw_path == "/orders/o%201%2Fx/lines"

    def test_body_template_renders_values_as_json(self, api, upstream, params):
        post_json(api, "/rest/params/orders/o-9", {"quantity": 3, "tags": ["red", "big"]})
        assert upstream.only().json() == {"order": "o-9", "quantity": 3, "tags": ["red", "big"]}


class TestRequired:
    def test_missing_required_parameter_is_400_before_any_upstream_request(
        self, api, upstream, params
    ):
        response = post_json(api, "/rest/params/search", {"term": "x"})
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "missing_parameter"
        assert "page (query)" in problem["detail"]
        assert upstream.received == []

    def test_missing_required_body(self, api, upstream, params):
        response = api.put("/rest/params/items/7")
        assert response.status_code == 400
        assert "body (body)" in response.json()["detail"]
        assert upstream.received == []
