"""The short path writes what httpx's client wrote (issue 12 point 2; no network).

The client builds the request target and header lines itself; for every URL, query,
header list and body here they must be what ``httpx.Client.build_request`` made with
the registry's former client settings.
"""

from __future__ import annotations

import httpx
import pytest

from capabilities_app.runtime.upstream import _ACCEPT_ENCODING, _head, _lines, _target

URLS = [
    "http://127.0.0.1:8080/ships/IMO9321483",
    "http://example.com",
    "http://example.com?x=1",
    "HTTP://Example.COM:80/a/b",
    "https://example.com:443/a%2Fb/c%20d?q=a+b&r=%zz",
    "http://example.com/a b/é?q=x y",
    "http://example.com/x/./y/../z",
    "http://example.com/a.b/.well-known/x",
    "http://[::1]:9000/v6",
    "https://bücher.example/buch",
    "http://example.com/x#fragment",
    "http://example.com/[x]|^~!$&'()*+,;=:@",
    "http://user@example.com/x",
]
PARAMS = [[], [("b", "2"), ("a", "1 &/é"), ("b", "3")]]
HEADERS = [
    [("user-agent", "capability-registry"), ("X-Trace", "t")],
    [("Accept", "application/json"), ("cookie", "a=b")],
    [],
]


def built(method, url, params, headers, content):
    client = httpx.Client(headers={"Accept-Encoding": _ACCEPT_ENCODING}, trust_env=False)
    with client:
        return client.build_request(
            method, url, params=tuple(params) or None, headers=headers, content=content
        )


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("params", PARAMS)
def test_the_target_and_origin_are_httpxs(url, params):
    origin, target = _target(url, params)
    request = built("GET", url, params, [], None)
    assert target == request.url.raw_path.decode()
    assert origin.netloc == request.url.netloc.decode()
    assert (origin.scheme, origin.host) == (request.url.scheme, request.url.raw_host.decode())


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "HEAD"])
@pytest.mark.parametrize("headers", HEADERS)
@pytest.mark.parametrize("content", [None, b"", b'{"a": 1}'])
def test_the_header_lines_are_httpxs(method, headers, content):
    url = "http://127.0.0.1:8080/x"
    origin, target = _target(url, [])
    request = built(method, url, [], headers, content)
    expected = [(k.decode(), v.decode()) for k, v in request.headers.raw]
    assert _lines(method, origin, headers, content, "") == expected
    head = _head(method, target, expected)
    assert head.startswith(f"{method} /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n".encode())
    assert head.endswith(b"\r\n\r\n")


def test_basic_authentication_is_the_last_line_and_the_only_authorization():
    origin, _ = _target("http://h/x", [])
    lines = _lines("GET", origin, [("Authorization", "Bearer x")], None, "Basic abc")
    assert lines[-1] == ("Authorization", "Basic abc")
    assert [name for name, _ in lines].count("Authorization") == 1


@pytest.mark.parametrize(
    ("name", "value"), [("X-A", "a\r\nEvil: 1"), ("X A", "v"), ("X-A", " padded"), ("", "v")]
)
def test_a_header_h11_would_refuse_is_refused(name, value):
    with pytest.raises(httpx.LocalProtocolError):
        _head("GET", "/", [(name, value)])
