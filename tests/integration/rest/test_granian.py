"""Issue 12 point 3: the REST surface under granian (the production server of
docs/deployment.md) answers as it does under gunicorn: the short chain's headers, a
chunked body read to its end, an encoded ``/`` kept in one segment when the proxy passes
``X-Request-URI``, and the admin's full chain."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support.registry_process import RegistryProcess
from tests.support.upstream import Answer, RecordingUpstream

pytestmark = pytest.mark.processes

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Granian, description: The REST surface under granian.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://127.0.0.1:1
    resources:
    - name: items
      path: /items/{{id}}
      operations:
      - name: get
        method: GET
        inputParameters:
        - {name: id, in: path, type: string}
  exposes:
  - type: rest
    namespace: gran
    port: 8080
    resources:
    - path: /items/{{id}}
      operations:
      - {method: GET, call: up.get}
    - path: /fwd/{{path}}
      forward: {targetNamespace: up}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    upstream = RecordingUpstream().start()
    upstream.answer("GET", "/items/a%2Fb", Answer(200, {"id": "a/b"}))
    upstream.answer("POST", "/notes", Answer(201, {"filed": True}))
    registry = RegistryProcess(
        Path(tmp_path_factory.mktemp("granian")), REGISTRY_REQUIRE_CLIENT_KEY="false"
    )
    try:
        registry.import_document(DOCUMENT, name="granian", base_uri=upstream.url)
        yield registry.start_granian(threads=2), upstream
    finally:
        registry.stop()
        upstream.stop()


def test_a_rest_answer_has_the_short_chains_headers_and_no_cookie(served):
    web, upstream = served
    raw = "/rest/gran/items/a%2Fb"
    response = httpx.get(web + raw, headers={"X-Request-URI": raw})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": "a/b"}
    assert upstream.received[-1].raw_path == "/items/a%2Fb"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Length"] == str(len(response.content))
    assert "Set-Cookie" not in response.headers


def test_a_not_found_is_problem_json(served):
    web, _ = served
    response = httpx.get(web + "/rest/gran/nothing")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_chunked_body_reaches_the_upstream(served):
    web, upstream = served
    body = json.dumps({"note": "z" * 3000}).encode()
    response = httpx.post(
        web + "/rest/gran/fwd/notes",
        content=iter([body[:1000], body[1000:]]),  # no length: sent chunked
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert upstream.received[-1].body == body


def test_the_admin_keeps_its_cookies(served):
    web, _ = served
    page = httpx.get(web + "/admin/login/")
    assert page.status_code == 200
    assert "csrftoken=" in page.headers["Set-Cookie"]
    assert "Content-Security-Policy" not in page.headers


def test_a_head_answer_has_no_body(served):
    web, _ = served
    with httpx.Client(base_url=web) as client:  # one connection: a stray body would break it
        head = client.head("/rest/gran/items/x")
        assert head.content == b""
        assert client.get("/rest/gran/nothing").status_code == 404
