"""An answer's head read by ``runtime/heads.py`` means what http.client makes of it.

The plain header block skips the ``email`` parser; every other block goes through it.
Both ways must give the same message, and the same status, framing and length.
"""

from __future__ import annotations

import http.client
import io

import pytest

from capabilities_app.runtime.heads import Answer, parse_headers

BLOCKS = [
    b"\r\n",
    b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n",
    b'Server: nginx/1.22.1\r\nDate: Mon, 30 Nov 2026 13:00:00 GMT\r\nETag: "a b"\r\n\r\n',
    b"X-Empty:\r\nX-Blank:   \r\nX-Tab:\tvalue\t\r\nX-Trailing: v  \r\n\r\n",
    b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nset-cookie: c=3\r\n\r\n",
    b"Lf-Only: yes\nOther: also\n\n",
    b"X-Folded: first\r\n  second\r\nAfter: x\r\n\r\n",
    b"X-Latin: caf\xe9\r\nX-Utf8: caf\xc3\xa9\r\n\r\n",
    b"Not a header line\r\nX-After: x\r\n\r\n",
    b"Space Name: x\r\n\r\n",
    b"X-Colons: a:b:c\r\nX-Odd: \x01control\r\n\r\n",
    b"From nobody\r\nX: y\r\n\r\n",
    b"X-Cr: a\rb\r\n\r\n",
    b"X-Eof: cut",
]


@pytest.mark.parametrize("block", BLOCKS)
def test_the_same_message_as_http_client(block):
    ours = parse_headers(io.BytesIO(block))
    theirs = http.client.parse_headers(io.BytesIO(block))
    assert ours.items() == theirs.items()
    for name in ("content-type", "set-cookie", "x-empty", "x-folded", "transfer-encoding"):
        assert ours.get_all(name) == theirs.get_all(name)
        assert ours.get(name) == theirs.get(name)
    assert ours.get_payload() == theirs.get_payload()


def test_the_limits_are_http_client_s():
    many = b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    with pytest.raises(http.client.HTTPException):
        parse_headers(io.BytesIO(many))
    with pytest.raises(http.client.LineTooLong):
        parse_headers(io.BytesIO(b"X: " + b"v" * 70000 + b"\r\n\r\n"))


class Socket:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


ANSWERS = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "GET"),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", "GET"),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", "POST"),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "DELETE"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\nhello", "GET"),
    (b"HTTP/1.1 502 Bad Gateway\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n", "GET"),
]


@pytest.mark.parametrize(("raw", "method"), ANSWERS)
def test_the_same_answer_as_http_client(raw, method):
    ours, theirs = (
        Answer(Socket(raw), method=method),
        http.client.HTTPResponse(Socket(raw), method=method),
    )
    ours.begin()
    theirs.begin()
    for attribute in ("status", "reason", "version", "chunked", "will_close", "length"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert ours.msg.items() == theirs.msg.items()
    assert ours.read() == theirs.read()


def test_a_bad_status_line_is_refused_as_http_client_refuses_it():
    for raw in (b"SPDY/3 200 OK\r\n\r\n", b"HTTP/1.1 2x0 OK\r\n\r\n", b""):
        with pytest.raises(http.client.HTTPException) as ours:
            Answer(Socket(raw), method="GET").begin()
        with pytest.raises(http.client.HTTPException) as theirs:
            http.client.HTTPResponse(Socket(raw), method="GET").begin()
        assert type(ours.value) is type(theirs.value)


def test_only_a_block_that_is_not_plain_goes_through_the_email_parser(monkeypatch):
    import email.parser

    class Refused(Exception):
        pass

    def parser(*args, **kwargs):
        raise Refused

    monkeypatch.setattr(email.parser, "Parser", parser)
    assert parse_headers(io.BytesIO(BLOCKS[2])).get("etag") == '"a b"'
    with pytest.raises(Refused):
        parse_headers(io.BytesIO(b"X-Folded: first\r\n  second\r\n\r\n"))
