"""The trust boundary between a capability document and its callers (RUNTIME-CONTRACT §4).

Issue 9 points 1, 5, 6, 12 (header values) and 13, tried from outside over the REST
surface: every test calls ``/rest/...`` and reads what real upstreams on 127.0.0.1
received (a legitimate one and, where the attack is to redirect the call, an
attacker's). The same over MCP is in ``test_trust_boundary_mcp.py``.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, unquote

import pytest

from tests.integration.hardening.conftest import load
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.django_db

SECRET = "tb-secret-4e1d9"

# baseUri, a header parameter's value, a body template and the authentication all
# read bind variables, plainly ({{UP_HOST}}) and through the namespace ({{env.X}}).
BINDS_DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Trust boundary, description: Bind variables come first.}
binds:
- namespace: env
  keys: {UP_HOST: TB_UP_HOST, API_TOKEN: TB_API_TOKEN}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://{{UP_HOST}}
    authentication: {type: bearer, token: '{{env.API_TOKEN}}'}
    inputParameters:
    - {name: X-Api-Token, in: header, value: '{{env.API_TOKEN}}'}
    resources:
    - name: things
      path: /things
      operations:
      - name: list
        method: GET
        inputParameters:
        - {name: q, in: query}
        - {name: X-Echo-Token, in: header, value: 'token {{API_TOKEN}}'}
      - name: create
        method: POST
        body: '{"name": "{{name}}", "token": "{{API_TOKEN}}"}'
  exposes:
  - type: rest
    namespace: tb
    port: 8080
    resources:
    - path: /things
      operations:
      - {method: GET, call: up.list, with: {q: rest.q}}
      - {method: POST, call: up.create, with: {name: rest.name}}
"""


@pytest.fixture
def attacker():
    server = RecordingUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def binds_capability(upstream, monkeypatch):
    monkeypatch.setenv("TB_UP_HOST", upstream.url.removeprefix("http://"))
    monkeypatch.setenv("TB_API_TOKEN", SECRET)
    return load(BINDS_DOCUMENT, name="trust-boundary")


def post_json(api, path: str, body, **extra):
    return api.post(path, data=json.dumps(body), content_type="application/json", **extra)


def host_of(server) -> str:
    return server.url.removeprefix("http://")


def assert_the_legitimate_upstream_got_the_secret(received) -> None:
    assert received.header("authorization") == f"Bearer {SECRET}"
    assert received.header("x-api-token") == SECRET


# --------------------------------------------------------------------------- point 1


def test_a_query_parameter_named_like_a_bind_variable_never_chooses_the_upstream_host(
    api, upstream, attacker, binds_capability
):
    """Issue 9 point 1: ``?UP_HOST=<attacker>`` does not fill ``baseUri: http://{{UP_HOST}}``."""
    response = api.get(f"/rest/tb/things?q=ships&UP_HOST={host_of(attacker)}")
    assert response.status_code == 200, response.content
    assert attacker.received == []
    received = upstream.only()
    assert received.query == [("q", "ships")]
    assert_the_legitimate_upstream_got_the_secret(received)


def test_a_json_body_field_named_like_a_bind_variable_never_chooses_the_upstream_host(
    api, upstream, attacker, binds_capability
):
    """Issue 9 point 1: a JSON body field ``UP_HOST`` does not fill ``baseUri``."""
    response = post_json(api, "/rest/tb/things", {"name": "n", "UP_HOST": host_of(attacker)})
    assert response.status_code == 200, response.content
    assert attacker.received == []
    assert_the_legitimate_upstream_got_the_secret(upstream.only())


def test_a_bind_namespace_sent_as_a_json_object_never_chooses_the_upstream_host(
    api, upstream, attacker, binds_capability
):
    """Issue 9 point 1: ``{"env": {"UP_HOST": ...}}`` does not fill ``{{env.UP_HOST}}``."""
    load(
        BINDS_DOCUMENT.replace("http://{{UP_HOST}}", "http://{{env.UP_HOST}}"),
        name="trust-boundary",
    )
    response = post_json(
        api, "/rest/tb/things", {"name": "n", "env": {"UP_HOST": host_of(attacker)}}
    )
    assert response.status_code == 200, response.content
    assert attacker.received == []
    assert_the_legitimate_upstream_got_the_secret(upstream.only())


def test_caller_values_never_shadow_a_bind_in_parameter_values_or_a_body_template(
    api, upstream, binds_capability
):
    """Issue 9 point 1: ``API_TOKEN`` (and ``env``) from the caller never replace the bound secret.

    The caller tries the query, a JSON body field and a JSON object named like the bind
    namespace; the consumed header parameters (``{{env.API_TOKEN}}``, ``token
    {{API_TOKEN}}``), the body template and the bearer authentication keep the secret.
    """
    forged = {"name": "n", "API_TOKEN": "forged", "env": {"API_TOKEN": "forged"}}
    response = post_json(api, "/rest/tb/things?API_TOKEN=forged", forged)
    assert response.status_code == 200, response.content
    response = api.get("/rest/tb/things?API_TOKEN=forged&q=x", headers={"API-TOKEN": "forged"})
    assert response.status_code == 200, response.content
    created, listed = upstream.received
    assert created.json() == {"name": "n", "token": SECRET}
    assert_the_legitimate_upstream_got_the_secret(created)
    assert listed.header("x-echo-token") == f"token {SECRET}"
    assert_the_legitimate_upstream_got_the_secret(listed)
    assert "forged" not in repr(upstream.received)


# --------------------------------------------------------------------------- point 5

PATHS_DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Paths, description: Path values stay inside their segment.}
capability:
  consumes:
  - type: http
    namespace: files
    baseUri: https://files.example
    resources:
    - name: user-files
      path: /v1/users/{user_id}/files
      operations:
      - {name: list, method: GET}
  exposes:
  - type: rest
    namespace: paths
    port: 8080
    resources:
    - path: /users/{user_id}/files
      operations:
      - {method: GET, call: files.list, with: {user_id: rest.user_id}}
    - path: /files
      operations:
      - {method: GET, call: files.list, with: {user_id: rest.user_id}}
"""

DOT_SEGMENTS = ["..", ".", "%2e%2e", "%2E.", "%2e"]


@pytest.mark.parametrize("raw", DOT_SEGMENTS)
def test_a_dot_segment_as_a_rest_path_value_is_400_before_any_upstream_request(api, upstream, raw):
    """Issue 9 point 5: ``/users/../files`` (raw or ``%2e%2e``) never leaves the declared path."""
    load(PATHS_DOCUMENT, base_uri=upstream.url, name="paths")
    path = f"/rest/paths/users/{raw}/files"
    response = api.get(path, RAW_URI=path)  # the raw path, as gunicorn passes it
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_parameter"
    assert "user_id" in problem["detail"]
    assert upstream.received == []


@pytest.mark.parametrize("value", ["..", ".", "%2e%2e", "%2E.", "a/../../admin", "..\\x"])
def test_a_dot_segment_as_a_query_value_feeding_a_path_is_400(api, upstream, value):
    """Issue 9 point 5: a path variable fed from the query is checked the same way."""
    load(PATHS_DOCUMENT, base_uri=upstream.url, name="paths")
    response = api.get("/rest/paths/files", {"user_id": value})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter"
    assert upstream.received == []


def test_ordinary_values_with_dots_still_reach_the_upstream(api, upstream):
    """Issue 9 point 5: only whole ``.``/``..`` segments are refused, not dots in a value."""
    load(PATHS_DOCUMENT, base_uri=upstream.url, name="paths")
    for value in ("a.b", "...", "v1..2", ".hidden"):
        response = api.get("/rest/paths/files", {"user_id": value})
        assert response.status_code == 200, (value, response.content)
    assert [r.path for r in upstream.received] == [
        "/v1/users/a.b/files",
        "/v1/users/.../files",
        "/v1/users/v1..2/files",
        "/v1/users/.hidden/files",
    ]


@pytest.mark.parametrize("value", ["..%2F..%2Fadmin", "x?inj=1#", "127.0.0.1:1"])
def test_a_single_brace_base_uri_placeholder_is_never_filled_by_the_caller(api, upstream, value):
    """Issue 9 point 5: ``baseUri: http://host/{x}`` with ``?x=...`` is 503 naming ``x``."""
    load(PATHS_DOCUMENT, base_uri=upstream.url + "/{x}", name="paths")
    response = api.get(f"/rest/paths/files?user_id=u1&x={value}")
    assert response.status_code == 503, response.content
    problem = response.json()
    assert problem["code"] == "upstream_not_configured"
    assert "x" in problem["detail"].split("needs", 1)[1]
    assert value not in problem["detail"] and unquote(value) not in problem["detail"]
    assert upstream.received == []


def test_a_double_brace_base_uri_placeholder_is_never_filled_by_the_caller(api, upstream):
    """Issue 9 point 5: ``{{x}}`` in ``baseUri`` with no bind named ``x`` is 503, caller or not."""
    load(PATHS_DOCUMENT, base_uri=upstream.url + "/{{x}}", name="paths")
    as_body = json.dumps({"x": "admin"})
    for response in (
        api.generic("GET", "/rest/paths/files?user_id=u1", as_body, "application/json"),
        api.get("/rest/paths/files?user_id=u1&x=admin"),
    ):
        assert response.status_code == 503, response.content
        problem = response.json()
        assert problem["code"] == "upstream_not_configured"
        assert "needs x" in problem["detail"]
    assert upstream.received == []


# --------------------------------------------------------------------------- point 6

BODIES_DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Bodies, description: Caller values are data in every body format.}
capability:
  consumes:
  - type: http
    namespace: bodies
    baseUri: https://bodies.example
    resources:
    - name: users
      path: /users
      operations:
      - name: create-json
        method: POST
        body: '{"name": "{{name}}", "role": "user", "age": {{age}}}'
    - name: users-xml
      path: /users.xml
      operations:
      - name: create-xml
        method: POST
        body:
          type: xml
          data: '<user name="{{name}}"><name>{{name}}</name><role>user</role></user>'
    - name: users-form
      path: /users.form
      operations:
      - name: create-form
        method: POST
        body: {type: formUrlEncoded, data: 'name={{name}}&role=user'}
    - name: users-text
      path: /users.txt
      operations:
      - name: create-text
        method: POST
        body: {type: text, data: 'name: {{name}}'}
    - name: session
      path: /session
      operations:
      - name: check
        method: GET
        inputParameters:
        - {name: session, in: cookie}
        - {name: theme, in: cookie, value: dark}
  exposes:
  - type: rest
    namespace: bodies
    port: 8080
    resources:
    - path: /json
      operations:
      - {method: POST, call: bodies.create-json, with: {name: rest.name, age: rest.age}}
    - path: /xml
      operations:
      - {method: POST, call: bodies.create-xml, with: {name: rest.name}}
    - path: /form
      operations:
      - {method: POST, call: bodies.create-form, with: {name: rest.name}}
    - path: /text
      operations:
      - {method: POST, call: bodies.create-text, with: {name: rest.name}}
    - path: /session
      operations:
      - {method: GET, call: bodies.check, with: {session: rest.session}}
"""

INJECTION = 'mallory", "role": "admin'


@pytest.fixture
def bodies(upstream):
    return load(BODIES_DOCUMENT, base_uri=upstream.url, name="bodies")


def test_a_caller_value_inside_a_json_string_stays_that_string(api, upstream, bodies):
    """Issue 9 point 6: ``mallory", "role": "admin`` is the name, the role stays ``user``."""
    response = post_json(api, "/rest/bodies/json", {"name": INJECTION, "age": 30})
    assert response.status_code == 200, response.content
    assert upstream.only().json() == {"name": INJECTION, "role": "user", "age": 30}


@pytest.mark.parametrize(
    ("age", "sent"),
    [
        (30, 30),
        ("41", 41),
        ("true", True),
        ([1, 2], [1, 2]),
        ('1, "role": "admin"', '1, "role": "admin"'),
        ("1}", "1}"),
    ],
)
def test_a_caller_value_outside_quotes_is_exactly_one_json_value(api, upstream, bodies, age, sent):
    """Issue 9 point 6: ``"age": {{age}}`` takes one JSON value, never more members."""
    response = post_json(api, "/rest/bodies/json", {"name": "m", "age": age})
    assert response.status_code == 200, response.content
    assert upstream.only().json() == {"name": "m", "role": "user", "age": sent}


def test_a_caller_value_in_an_xml_body_is_text(api, upstream, bodies):
    """Issue 9 point 6: ``</name><role>admin</role>`` in an XML body stays text of ``name``."""
    import xml.etree.ElementTree as ElementTree

    name = '"m" a="1"></user><user><name>x</name><role>admin</role>&amp;'
    response = post_json(api, "/rest/bodies/xml", {"name": name})
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert received.header("content-type") == "application/xml"
    root = ElementTree.fromstring(received.body)  # noqa: S314 - what the registry sent
    assert root.attrib == {"name": name}
    assert root.find("name").text == name
    assert [e.text for e in root.findall("role")] == ["user"]


def test_a_caller_value_in_a_form_body_is_one_field(api, upstream, bodies):
    """Issue 9 point 6: ``m&role=admin`` in a form body stays the value of ``name``."""
    response = post_json(api, "/rest/bodies/form", {"name": "m&role=admin x+y%"})
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert received.header("content-type") == "application/x-www-form-urlencoded"
    assert parse_qs(received.body.decode(), strict_parsing=True) == {
        "name": ["m&role=admin x+y%"],
        "role": ["user"],
    }


def test_a_text_body_inserts_the_value_as_it_is(api, upstream, bodies):
    """Issue 9 point 6: a ``text`` body is plain text: no format to escape for (documented)."""
    response = post_json(api, "/rest/bodies/text", {"name": 'a "b" <c>'})
    assert response.status_code == 200, response.content
    assert upstream.only().body == b'name: a "b" <c>'


@pytest.mark.parametrize("value", ["a; admin=1", 'a", admin=1', "a, admin=1", "a admin=1"])
def test_a_caller_value_in_a_cookie_is_one_cookie(api, upstream, bodies, value):
    """Issue 9 point 6: ``a; admin=1`` sent as a cookie parameter never adds an ``admin`` cookie."""
    from http.cookies import SimpleCookie

    response = api.get("/rest/bodies/session", {"session": value})
    assert response.status_code == 200, response.content
    header = upstream.only().header("cookie")
    cookies = SimpleCookie()
    cookies.load(header)
    assert sorted(cookies) == ["session", "theme"], header
    assert unquote(cookies["session"].value) == value
    assert cookies["theme"].value == "dark"
    assert header.count(";") == 1


# --------------------------------------------------------------------------- point 12

HEADERS_DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Headers, description: Header values from the caller.}
capability:
  consumes:
  - type: http
    namespace: hdr
    baseUri: https://hdr.example
    resources:
    - name: things
      path: /things
      operations:
      - name: list
        method: GET
        inputParameters:
        - {name: X-Trace, in: header}
  exposes:
  - type: rest
    namespace: hdr
    port: 8080
    resources:
    - path: /things
      operations:
      - {method: GET, call: hdr.list, with: {X-Trace: rest.trace}}
      - {method: POST, call: hdr.list, with: {X-Trace: rest.trace}}
"""

FORGED_HEADER = "abc\r\nX-Injected: yes-9d3"


@pytest.mark.parametrize(
    "value", [FORGED_HEADER, "abc\nX-Injected: yes-9d3", "abc\rX-Injected", "a\x00yes-9d3"]
)
def test_a_header_value_with_cr_or_lf_is_400_and_never_echoed(api, upstream, value):
    """Issue 9 point 12: CR/LF in a header value (JSON body or query) → 400, value not echoed."""
    load(HEADERS_DOCUMENT, base_uri=upstream.url, name="headers")
    for response in (
        post_json(api, "/rest/hdr/things", {"trace": value}),
        api.get("/rest/hdr/things", {"trace": value}),
    ):
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "invalid_parameter"
        assert "X-Trace" in problem["detail"]
        assert "yes-9d3" not in response.content.decode()
        assert "X-Injected" not in response.content.decode()
    assert upstream.received == []


def test_an_ordinary_header_value_still_reaches_the_upstream(api, upstream):
    """Issue 9 point 12: a value with spaces and a tab is sent as it is."""
    load(HEADERS_DOCUMENT, base_uri=upstream.url, name="headers")
    response = api.get("/rest/hdr/things", {"trace": "a b\tc"})
    assert response.status_code == 200, response.content
    assert upstream.only().header("x-trace") == "a b\tc"


# --------------------------------------------------------------------------- point 13


def forward_document(authentication: str, trusted: str) -> str:
    return f"""
naftiko: 1.0.0-alpha2
info: {{label: Forward, description: A forward that trusts a credential header.}}
binds:
- namespace: env
  keys: {{FWD_TOKEN: TB_FWD_TOKEN}}
capability:
  consumes:
  - type: http
    namespace: fwd-up
    baseUri: https://fwd.example
    authentication: {authentication}
  exposes:
  - type: rest
    namespace: fwd
    port: 8080
    resources:
    - path: /proxy/{{{{path}}}}
      forward: {{targetNamespace: fwd-up, trustedHeaders: [{trusted}, X-Request-Id]}}
"""


@pytest.mark.parametrize(
    ("authentication", "trusted", "header", "expected"),
    [
        ("{type: bearer, token: '{{FWD_TOKEN}}'}", "Authorization", "Authorization", "Bearer "),
        (
            "{type: apikey, key: X-Api-Key, value: '{{FWD_TOKEN}}', placement: header}",
            "X-Api-Key",
            "X-Api-Key",
            "",
        ),
    ],
)
def test_a_forward_sends_exactly_one_credential_header_the_registrys(
    api, upstream, monkeypatch, authentication, trusted, header, expected
):
    """Issue 9 point 13: the caller's trusted credential header gives way to the registry's."""
    monkeypatch.setenv("TB_FWD_TOKEN", SECRET)
    load(forward_document(authentication, trusted), base_uri=upstream.url, name="forward")
    response = api.get(
        "/rest/fwd/proxy/a/b", headers={header: "Bearer caller-token", "X-Request-Id": "r-1"}
    )
    assert response.status_code == 200, response.content
    (received,) = upstream.received
    assert received.header_values(header) == [f"{expected}{SECRET}"]
    assert received.header_values("X-Request-Id") == ["r-1"]  # other trusted headers still pass


def test_a_forward_without_consumes_authentication_passes_the_trusted_header(
    api, upstream, monkeypatch
):
    """Issue 9 point 13: with no registry credential the caller's trusted header is the one sent."""
    load(forward_document("null", "Authorization"), base_uri=upstream.url, name="forward")
    response = api.get("/rest/fwd/proxy/a", headers={"Authorization": "Bearer caller-token"})
    assert response.status_code == 200, response.content
    (received,) = upstream.received
    assert received.header_values("Authorization") == ["Bearer caller-token"]


def test_a_forward_with_a_query_apikey_sends_exactly_one_key(api, upstream, monkeypatch):
    """Issue 9 point 13: a caller's ``api_key`` query parameter is dropped for the registry's."""
    monkeypatch.setenv("TB_FWD_TOKEN", SECRET)
    authentication = "{type: apikey, key: api_key, value: '{{FWD_TOKEN}}', placement: query}"
    load(forward_document(authentication, "X-None"), base_uri=upstream.url, name="forward")
    response = api.get("/rest/fwd/proxy/a?api_key=caller-key&page=2&api_key=again")
    assert response.status_code == 200, response.content
    (received,) = upstream.received
    assert sorted(received.query) == [("api_key", SECRET), ("page", "2")]


@pytest.mark.parametrize("value", ["a\r\nX-Injected: yes-9d3", "Ålesund-yes-9d3"])
def test_a_caller_idempotency_key_that_cannot_be_a_header_is_400(api, upstream, value):
    """Issue 9 point 12: the ``Idempotency-Key`` passed upstream is checked like a parameter."""
    load(HEADERS_DOCUMENT, base_uri=upstream.url, name="headers")
    response = api.get("/rest/hdr/things", headers={"Idempotency-Key": value})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter"
    assert "yes-9d3" not in response.content.decode()
    assert upstream.received == []


def test_a_non_ascii_header_value_is_400_not_a_server_error(api, upstream):
    """Issue 9 point 12: a value httpx cannot encode as a header is the caller's 400."""
    load(HEADERS_DOCUMENT, base_uri=upstream.url, name="headers")
    response = post_json(api, "/rest/hdr/things", {"trace": "Ålesund-yes-9d3"})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter"
    assert "yes-9d3" not in response.content.decode()
    assert upstream.received == []


@pytest.mark.parametrize("where", ["header parameters", "authentication only"])
def test_a_bound_secret_that_cannot_be_a_header_is_503_and_never_echoed(
    api, upstream, monkeypatch, where
):
    """Issue 9 point 12: a secret with a line break (a file's last newline) is not shown."""
    monkeypatch.setenv("TB_UP_HOST", host_of(upstream))
    monkeypatch.setenv("TB_API_TOKEN", SECRET + "\n")
    document = BINDS_DOCUMENT
    if where == "authentication only":
        document = re.sub(r"(?m)^.*value: '.*API_TOKEN}}'}\n", "", document)
        assert document.count("API_TOKEN}}") == 2  # the bearer token and the POST body
    load(document, name="trust-boundary")
    response = api.get("/rest/tb/things")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "upstream_not_configured"
    assert SECRET not in response.content.decode()
    assert upstream.received == []


CALLER_AUTHORIZATION_DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Two credentials, description: A caller header named like the credential.}
binds:
- namespace: env
  keys: {API_TOKEN: TB_API_TOKEN}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://up.example
    authentication: {type: bearer, token: '{{API_TOKEN}}'}
    resources:
    - name: things
      path: /things
      operations:
      - name: list
        method: GET
        inputParameters:
        - {name: Authorization, in: header}
  exposes:
  - type: rest
    namespace: two
    port: 8080
    resources:
    - path: /things
      operations:
      - {method: GET, call: up.list, with: {Authorization: rest.auth}}
"""


def test_a_header_parameter_named_like_the_credential_gives_way_to_it(api, upstream, monkeypatch):
    """Issue 9 point 13: the registry's credential wins over a caller's same-named header."""
    monkeypatch.setenv("TB_API_TOKEN", SECRET)
    load(CALLER_AUTHORIZATION_DOCUMENT, base_uri=upstream.url, name="two")
    response = api.get("/rest/two/things", {"auth": "Bearer caller-token"})
    assert response.status_code == 200, response.content
    (received,) = upstream.received
    assert received.header_values("Authorization") == [f"Bearer {SECRET}"]
