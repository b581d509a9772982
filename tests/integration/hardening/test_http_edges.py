"""HTTP edges of the REST surface (issue 9 points 9, 10, 12 path, 15), tried from outside.

Active upstream content served from the registry's origin, chunked request bodies,
CR/LF in a request path, and a guarded namespace that answered 405/404 before it asked
for the caller's credential. The chunked and CR/LF cases run against real servers
(gunicorn, and Django's runserver, which cannot decode a chunked body).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.rest.conftest import load
from tests.support.processes import MANAGE, free_port
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import Answer, RecordingUpstream

EDGE_KEY = "edge-caller-key-41"

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Edges, description: HTTP edge cases of the REST surface.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: page
      path: /page
      operations:
      - {name: page, method: GET}
    - name: report
      path: /report
      operations:
      - {name: report, method: GET}
  exposes:
  - type: rest
    namespace: edges
    port: 8080
    resources:
    - path: /page
      operations:
      - {method: GET, call: up.page}
    - path: /mapped
      operations:
      - method: GET
        call: up.report
        outputParameters:
        - {type: object, mapping: $.data}
    - path: /fwd/{{path}}
      forward: {targetNamespace: up}
"""

GUARDED = """
naftiko: 1.0.0-alpha2
info: {label: Guarded edges, description: A guarded expose.}
binds:
- namespace: env
  keys: {EDGE_KEY: EDGE_CALLER_KEY}
capability:
  consumes:
  - type: http
    namespace: gup
    baseUri: https://upstream.example
    resources:
    - name: things
      path: /things
      operations:
      - {name: list, method: GET}
  exposes:
  - type: rest
    namespace: guarded-edges
    port: 8080
    authentication: {type: bearer, token: '{{EDGE_KEY}}'}
    resources:
    - path: /things
      operations:
      - {method: GET, call: gup.list}
"""

HTML = b"<html><body><script>fetch('/admin/')</script></body></html>"
REPORT = {"data": {"id": "r-1"}}
SANDBOX = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}


def protected(response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in SANDBOX}


# --------------------------------------------------------------------------- point 9


@pytest.mark.django_db
class TestActiveContent:
    @pytest.fixture
    def edges(self, upstream):
        upstream.answer("GET", "/page", Answer(200, HTML, content_type="text/html"))
        upstream.answer("GET", "/report", Answer(200, REPORT))
        return load(DOCUMENT, base_uri=upstream.url, name="edges")

    def test_upstream_html_is_served_sandboxed_and_unsniffed(self, api, edges):
        """Issue 9 point 9: upstream text/html passed through cannot run in our origin."""
        response = api.get("/rest/edges/page")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/html"
        assert response.content == HTML
        assert protected(response) == SANDBOX

    @pytest.mark.parametrize(
        ("method", "path", "headers", "status"),
        [
            ("get", "/rest/edges/mapped", {}, 200),
            ("get", "/rest/edges/fwd/report", {}, 200),
            ("get", "/rest/edges/nothing-here", {}, 404),
            ("delete", "/rest/edges/page", {}, 405),
            ("get", "/rest/no-such-namespace/x", {}, 404),
            ("get", "/rest/edges/mapped", {"Prefer": "respond-async"}, 202),
            ("get", "/api/jobs/00000000-0000-0000-0000-000000000000", {}, 404),
        ],
    )
    def test_every_rest_surface_answer_is_sandboxed(
        self, api, edges, method, path, headers, status
    ):
        """Issue 9 point 9: mapped JSON, pass-through, problem+json and job answers alike."""
        response = getattr(api, method)(path, headers=headers)
        assert response.status_code == status
        assert protected(response) == SANDBOX

    def test_a_job_read_is_sandboxed(self, api, edges):
        """Issue 9 point 9: the jobs API (``/api/jobs/<id>``) answers carry the same headers."""
        submitted = api.get("/rest/edges/mapped", headers={"Prefer": "respond-async"})
        assert submitted.status_code == 202
        job = api.get(submitted["Location"])
        assert job.status_code == 200
        assert protected(job) == SANDBOX

    def test_the_admin_is_not_sandboxed(self, api, edges):
        """Issue 9 point 9: the sandbox is the surfaces' only; the admin keeps its scripts."""
        response = api.get("/admin/login/")
        assert response.status_code == 200
        assert "Content-Security-Policy" not in response.headers


# --------------------------------------------------------------------------- point 15


@pytest.mark.django_db
class TestAuthenticateFirst:
    @pytest.fixture(autouse=True)
    def guarded(self, upstream, monkeypatch):
        monkeypatch.setenv("EDGE_CALLER_KEY", EDGE_KEY)
        return load(GUARDED, base_uri=upstream.url, name="guarded-edges")

    @pytest.mark.parametrize(
        ("method", "path", "with_credential"),
        [
            ("post", "/rest/guarded-edges/things", 405),
            ("delete", "/rest/guarded-edges/things", 405),
            ("get", "/rest/guarded-edges/unknown", 404),
            ("get", "/rest/guarded-edges", 404),
            ("get", "/rest/guarded-edges/things", 200),
        ],
    )
    def test_a_guarded_namespace_asks_for_the_credential_before_anything_else(
        self, api, upstream, method, path, with_credential
    ):
        """Issue 9 point 15: without the credential 401 (not 405/404); with it, the real answer."""
        anonymous = getattr(api, method)(path)
        assert anonymous.status_code == 401, anonymous.content
        assert anonymous["WWW-Authenticate"] == "Bearer"
        assert anonymous.json()["code"] == "not_authenticated"
        assert "Allow" not in anonymous.headers
        wrong = getattr(api, method)(path, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        served = getattr(api, method)(path, headers={"Authorization": f"Bearer {EDGE_KEY}"})
        assert served.status_code == with_credential
        if with_credential == 405:
            assert served["Allow"] == "GET"
        assert len(upstream.received) == (1 if with_credential == 200 else 0)


# --------------------------------------------------------------------------- point 12 (path)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/rest/edges/page%0d%0a",
        "/rest/edges/pa%0d%0age",
        "/rest/%0aedges/page",
        "/rest/edges%0d/page",
        "/rest/edges/fwd%0a",
    ],
)
def test_a_cr_lf_in_the_path_is_a_problem_404(api, upstream, path):
    """Issue 9 point 12: CR/LF in the path gives problem+json 404, not Django's HTML page."""
    load(DOCUMENT, base_uri=upstream.url, name="edges")
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "route_not_found"
    assert upstream.received == []


# --------------------------------------------------------------------------- real servers


@pytest.fixture(scope="module")
def edge_upstream():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def edge_registry(tmp_path_factory, edge_upstream):
    process = RegistryProcess(tmp_path_factory.mktemp("edges"), EDGE_CALLER_KEY=EDGE_KEY)
    process.import_document(DOCUMENT, name="edges", base_uri=edge_upstream.url)
    process.import_document(GUARDED, name="guarded-edges", base_uri=edge_upstream.url)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def web(edge_registry) -> str:
    """gunicorn (gthread), which decodes chunked bodies (``wsgi.input_terminated``)."""
    return edge_registry.start_web()


@pytest.fixture(scope="module")
def devserver(edge_registry) -> str:
    """Django's runserver: a WSGI server that cannot give a chunked body to the app."""
    port = free_port()
    edge_registry.start(
        *MANAGE,
        "runserver",
        "--noreload",
        f"127.0.0.1:{port}",
        ready_url=f"http://127.0.0.1:{port}/admin/login/",
        log_name=f"runserver-{port}",
    )
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def received(edge_upstream):
    edge_upstream.reset()
    return edge_upstream


def chunks(total: int, size: int = 64 * 1024):
    """``total`` bytes in pieces: httpx sends a generator with ``Transfer-Encoding: chunked``."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b"x" * piece
        sent += piece


@pytest.mark.processes
def test_a_chunked_body_reaches_the_upstream_whole(web, received):
    """Issue 9 point 10: a chunked request body is forwarded (it was dropped: Content-Length 0)."""
    body = json.dumps({"ship": "IMO9321483", "note": "y" * 5000}).encode()
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    response = httpx.post(
        f"{web}/rest/edges/fwd/ships",
        content=iter(pieces),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    forwarded = received.only()
    assert forwarded.method == "POST"
    assert forwarded.body == body
    assert forwarded.header("content-length") == str(len(body))
    assert forwarded.header("content-type") == "application/json"
    assert protected(response) == SANDBOX


@pytest.mark.processes
def test_an_oversized_chunked_body_is_413_and_nothing_is_sent(web, received):
    """Issue 9 point 10: 11 MB chunked (limit 10 MB) is 413 (it was 200), no upstream call."""
    response = httpx.post(
        f"{web}/rest/edges/fwd/ships",
        content=chunks(11 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert response.status_code == 413, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "body_too_large"
    assert received.received == []


@pytest.mark.processes
def test_a_chunked_body_a_server_cannot_decode_is_411(devserver, received):
    """Issue 9 point 10: where the WSGI server cannot give the chunked body, 411, never a
    call with the body dropped."""
    response = httpx.post(
        f"{devserver}/rest/edges/fwd/ships",
        content=iter([b'{"a": ', b"1}"]),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 411, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "length_required"
    assert received.received == []


@pytest.mark.processes
@pytest.mark.parametrize(
    "path", ["/rest/edges/page%0d%0a", "/rest/%0d%0aedges/page", "/rest/edges/pa%0Age"]
)
def test_a_cr_lf_in_the_path_is_a_problem_404_under_gunicorn(web, received, path):
    """Issue 9 point 12: the same through gunicorn, with the CR/LF percent-encoded on the wire."""
    response = httpx.get(f"{web}{path}", timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "route_not_found"
    assert protected(response) == SANDBOX
    assert received.received == []


@pytest.mark.processes
def test_a_guarded_namespace_asks_first_under_gunicorn(web, received):
    """Issue 9 point 15: through gunicorn, a wrong method under a guarded namespace is 401."""
    anonymous = httpx.put(f"{web}/rest/guarded-edges/things", timeout=30)
    assert anonymous.status_code == 401
    authorised = httpx.put(
        f"{web}/rest/guarded-edges/things",
        headers={"Authorization": f"Bearer {EDGE_KEY}"},
        timeout=30,
    )
    assert authorised.status_code == 405
    assert received.received == []
