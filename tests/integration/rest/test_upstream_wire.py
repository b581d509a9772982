"""What the upstream receives, to the byte (issue 12 point 2).

The outbound client was rebuilt for speed; these pin what it writes on the wire as
the httpx-based client wrote it: the request target (path and query encoding, a
query API key), the header lines and their order, the framing of a body, form data
and multipart parts, digest and basic authentication, no cookie carried over, and
the answer's headers as the registry reads them.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json

import pytest

from tests.integration.rest.conftest import load
from tests.support.upstream import Answer

pytestmark = pytest.mark.django_db

DOCUMENT = """
naftiko: 1.0.0-alpha2
info: {label: Wire, description: What the upstream receives.}
capability:
  consumes:
  - type: http
    namespace: wire
    baseUri: https://upstream.example
    resources:
    - name: items
      path: /items/{item_id}
      operations:
      - name: get-item
        method: GET
        inputParameters:
        - {name: item_id, in: path}
        - {name: q, in: query}
        - {name: page, in: query}
        - {name: X-Trace, in: header}
        - {name: session, in: cookie}
    - name: form
      path: /form
      operations:
      - name: post-form
        method: POST
        body:
          type: formUrlEncoded
          data: {name: '{{name}}', role: user}
    - name: upload
      path: /upload
      operations:
      - name: upload
        method: POST
        body:
          type: multipartForm
          data:
          - {name: title, value: '{{title}}'}
          - {name: file, filename: notes.txt, value: '{{text}}', contentType: text/plain}
    - name: empty
      path: /empty
      operations:
      - {name: post-empty, method: POST}
  exposes:
  - type: rest
    namespace: wire
    port: 8080
    resources:
    - path: /items/{item_id}
      operations:
      - method: GET
        call: wire.get-item
        with: {item_id: rest.item_id, q: rest.q, page: rest.page, X-Trace: rest.X-Trace,
               session: rest.session}
    - path: /form
      operations:
      - {method: POST, call: wire.post-form, with: {name: rest.name}}
    - path: /upload
      operations:
      - {method: POST, call: wire.upload, with: {title: rest.title, text: rest.text}}
    - path: /empty
      operations:
      - {method: POST, call: wire.post-empty}
    - path: /forward/{{path}}
      forward:
        targetNamespace: wire
"""


@pytest.fixture
def wire(upstream):
    return load(DOCUMENT, base_uri=upstream.url, name="wire")


def host_of(upstream) -> str:
    return upstream.url.removeprefix("http://")


def test_a_get_request_line_and_headers(api, upstream, wire):
    """The request target, every header line and their order, as httpx wrote them."""
    response = api.get(
        "/rest/wire/items/a b?q=caf%C3%A9 %26 more/x&page=2&session=s 1;x",
        headers={"x-trace": "t-1"},
    )
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert received.target == "/items/a%20b?q=caf%C3%A9+%26+more%2Fx&page=2"
    assert received.header_lines == [
        ("Host", host_of(upstream)),
        ("Accept", "*/*"),
        ("Connection", "keep-alive"),
        ("Accept-Encoding", "gzip, deflate"),
        ("user-agent", "capability-registry"),
        ("X-Trace", "t-1"),
        ("cookie", "session=s%201%3Bx"),
    ]
    assert received.body == b""


def test_a_post_without_a_body_says_its_length_is_zero(api, upstream, wire):
    assert api.post("/rest/wire/empty").status_code == 200
    received = upstream.only()
    assert received.header_lines[:2] == [("Host", host_of(upstream)), ("Content-Length", "0")]
    assert received.body == b""


def test_form_data_is_url_encoded(api, upstream, wire):
    response = api.post(
        "/rest/wire/form", data=json.dumps({"name": "Ada L&ve"}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert received.body == b"name=Ada+L%26ve&role=user"
    assert received.header("content-type") == "application/x-www-form-urlencoded"
    assert received.header("content-length") == str(len(received.body))


def test_multipart_parts_are_sent_with_their_names_files_and_types(api, upstream, wire):
    response = api.post(
        "/rest/wire/upload",
        data=json.dumps({"title": "Log", "text": "line one\nline two"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    received = upstream.only()
    content_type = received.header("content-type")
    assert content_type.startswith("multipart/form-data; boundary=")
    assert received.header("content-length") == str(len(received.body))
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + received.body
    )
    parts = [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]
    assert parts == [
        ("title", None, "text/plain", b"Log"),
        ("file", "notes.txt", "text/plain", b"line one\nline two"),
    ]


def test_a_forward_sends_the_callers_query_as_it_came(api, upstream, wire):
    response = api.get("/rest/wire/forward/a/b?x=1&y=a%20b&z")
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert received.target == "/a/b?x=1&y=a%20b&z"
    assert [name.lower() for name, _ in received.header_lines] == [
        "host",
        "accept",
        "connection",
        "user-agent",
        "accept-encoding",
    ]


def test_the_answers_headers_are_read_case_insensitively(api, upstream, wire):
    upstream.answer(
        "GET",
        "/items/1",
        Answer(
            503,
            {"busy": True},
            headers={"RETRY-AFTER": "9", "Content-Language": "fr", "Set-Cookie": "a=b"},
        ),
    )
    response = api.get("/rest/wire/items/1")
    assert response.status_code == 503
    assert response["Retry-After"] == "9"
    assert response["Content-Language"] == "fr"
    assert "Set-Cookie" not in response


class TestAuthentication:
    DOC = DOCUMENT.replace(
        "    baseUri: https://upstream.example\n",
        "    baseUri: https://upstream.example\n    authentication: {auth}\n",
    )

    def test_basic_sends_one_authorization_header_last(self, api, upstream):
        load(
            self.DOC.replace("{auth}", "{type: basic, username: 'ü-user', password: 'p:w'}"),
            base_uri=upstream.url,
            name="wire",
        )
        api.get("/rest/wire/items/1", headers={"authorization": "Bearer caller"})
        received = upstream.only()
        token = base64.b64encode("ü-user:p:w".encode()).decode()
        assert received.header_values("authorization") == [f"Basic {token}"]
        assert received.header_lines[-1] == ("Authorization", f"Basic {token}")

    def test_digest_answers_the_challenge_on_a_post_with_a_query(self, api, upstream):
        load(
            self.DOC.replace("{auth}", "{type: digest, username: alice, password: secret}"),
            base_uri=upstream.url,
            name="wire",
        )
        upstream.answer(
            "POST",
            "/form",
            Answer(
                401,
                "no",
                content_type="text/plain",
                headers={"WWW-Authenticate": 'Digest realm="r", nonce="n1", qop="auth"'},
            ),
            Answer(200, {"ok": True}),
        )
        response = api.post(
            "/rest/wire/form", data=json.dumps({"name": "x"}), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        first, second = upstream.received
        assert first.header("authorization") is None
        assert second.header("authorization").startswith('Digest username="alice", realm="r"')
        assert 'uri="/form"' in second.header("authorization")
        assert first.body == second.body == b"name=x&role=user"
