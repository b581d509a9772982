"""A compiled plan builds exactly the request the per-call builder built (no network).

``runtime/plans.py`` reads each consumed operation once per catalog version; the
builder it replaced is kept verbatim in ``tests/support/request_reference.py``. For a
broad set of operations (every parameter location and kind, every body kind, every
authentication, base URIs with and without placeholders) and hostile caller values
(path segment escapes, CR/LF, unicode, empty values, missing optional parameters,
bind names, template text), both give the same request, field for field and byte for
byte on the wire, or the same error with the same detail. Then the trust boundary
(RUNTIME-CONTRACT §4) of the compiled path on its own, and binds read live.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from capabilities_app.core.errors import (
    InvalidParameter,
    SecretMissing,
    UpstreamNotConfigured,
)
from capabilities_app.core.paths import PathTemplate
from capabilities_app.runtime.callers import ResolvedCaller
from capabilities_app.runtime.catalog import Param, Upstream, UpstreamOperation
from capabilities_app.runtime.plans import build_request
from capabilities_app.runtime.templating import MISSING, Binds, BindSource
from tests.support import request_reference
from tests.support.request_reference import outcome, wire

ENV = {"TOKEN": "tok-1", "HOST": "api.example.com", "USER": "u", "PASS": "p:w", "BAD": "a\r\nX: 1"}
BINDS = Binds(
    (
        BindSource(
            "env",
            (
                ("TOKEN", "TOKEN"),
                ("HOST", "HOST"),
                ("USER", "USER"),
                ("PASS", "PASS"),
                ("BAD", "BAD"),
                ("UNSET", "UNSET"),
            ),
        ),
    ),
    ENV,
)

BASES = [
    "http://127.0.0.1:8080",
    "http://127.0.0.1:8080/api/v1/",
    " https://{{HOST}} ",
    "https://{HOST}/x",
    "https://{{env.HOST}}",
    "https://{{NOPE}}",
    "https://{{UNSET}}",
    "",
    None,
    "ftp://h",
    "http://u:pw@h.example/x",
]
AUTHS: list[Any] = [
    None,
    {},
    {"type": "bearer", "token": "{{TOKEN}}"},
    {"type": "bearer", "token": "{{env.TOKEN}}"},
    {"type": "bearer", "token": "static"},
    {"type": "bearer", "token": ""},
    {"type": "bearer", "token": "{{UNSET}}"},
    {"type": "bearer", "token": "{{BAD}}"},
    {"type": "bearer", "token": "x {{TOKEN}} y"},
    {"type": "basic", "username": "{{USER}}", "password": "{{PASS}}"},
    {"type": "basic", "username": "me", "password": 1234},
    {"type": "digest", "username": "{{USER}}", "password": "{{PASS}}"},
    {"type": "apikey", "key": "X-Api-Key", "value": "{{TOKEN}}"},
    {"type": "apikey", "key": "api_key", "value": "{{TOKEN}}", "placement": "query"},
    {"type": "apikey", "key": "{{USER}}", "value": "v"},
    {"type": "apikey", "key": "Bad Name", "value": "v"},
    {"type": "oauth2", "token": "x"},
    {"type": ["odd"]},
]
PATHS = ["/ships/{{imo}}", "/a/{x}/b/{{y}}", "{x}", "{x}/tail", "rel/{x}", "", "/.{x}", "/v1.0/{x}"]
PARAMS = [
    (),
    (Param("imo", "path"), Param("x", "path"), Param("y", "path")),
    (
        Param("q", "query"),
        Param("q", "query", value="lit"),
        Param("list", "query", value=[1, "a b"]),
    ),
    (Param("status", "query", required=True),),
    (Param("X-Trace", "header"), Param("X-Lit", "header", value="v 1")),
    (Param("X-Bad-Lit", "header", value="a\nb"),),
    (Param("X-Tpl", "header", value="{{who}}"), Param("X-Bind", "header", value="{{BAD}}")),
    (Param("X-Key", "header", value="Key {{TOKEN}}"), Param("Authorization", "header")),
    (
        Param("sid", "cookie"),
        Param("lit", "cookie", value="a;b"),
        Param("b", "cookie", value="{{TOKEN}}"),
    ),
    (Param("payload", "body"),),
    (Param("a", "body"), Param("b", "body", value={"k": [1, 2]})),
    (
        Param("n", "query", value=3),
        Param("t", "header", value=True),
        Param("e", "environment", value="x"),
    ),
    (Param("x", "path", value="lit/seg"), Param("y", "path", value="{{who}}")),
    (Param("x", "path", value=".."), Param("y", "path")),
]
BODIES: list[Any] = [
    None,
    '{"name": "{{who}}", "n": {{n}}, "token": "{{TOKEN}}"}',
    {"type": "json", "data": {"who": "{{who}}", "list": ["{{n}}", 2]}},
    {"type": "formUrlEncoded", "data": {"a": "{{who}}", "b": 2}},
    {"type": "formUrlEncoded", "data": "a={{who}}&b={{TOKEN}}"},
    {"type": "multipartForm", "data": [{"name": "f", "filename": "f.txt", "value": "{{who}}"}]},
    {"type": "xml", "data": "<a x='{{who}}'>{{n}}</a>"},
    {"type": "text", "data": "hi {{who}}"},
    {"type": "sparql", "data": "SELECT {{who}}"},
    {"type": "json", "data": 5},
    {"type": "other", "data": ["{{who}}"]},
]
HOSTILE = [
    {},
    {"imo": "IMO9321483", "x": "a", "y": "b", "who": "me", "n": 3, "payload": {"k": "v"}},
    {"imo": "../admin", "x": "%2e%2e", "y": "a/b", "who": 'x"}, "evil": {"a": 1}', "n": "1e3"},
    {"imo": "..", "x": "a\\..\\b", "y": "%2F..", "who": "<x>&'", "sid": "a; admin=1"},
    {"imo": "é ü 東京", "x": "?#", "y": " ", "who": "\u2028", "q": ["1", "2"], "list": "z"},
    {"imo": "", "x": "", "y": "", "who": "", "n": "", "q": "", "status": ""},
    {"imo": None, "x": None, "who": None, "status": None, "X-Trace": None},
    {"X-Trace": "a\r\nInjected: 1", "who": "line\nbreak", "sid": "s"},
    {
        "X-Trace": "ok",
        "Authorization": "Bearer caller",
        "TOKEN": "caller-token",
        "HOST": "evil.example",
    },
    {
        "who": "{{TOKEN}}",
        "imo": "{{env.TOKEN}}",
        "X-Trace": "{{TOKEN}}",
        "a": "x",
        "payload": "raw",
    },
    {"status": "on", "x": ".", "y": "ok", "a": [1, 2], "n": True},
]
WITHS = [{}, {"imo": "from-with", "who": "with-who"}, {"x": MISSING, "y": None}]


def operation(base, auth, path, params, body, method="POST") -> UpstreamOperation:
    upstream = Upstream("fleet", base, auth, ())
    return UpstreamOperation(upstream, "op", method, PathTemplate.parse(path), params, body, None)


def compare(target, withs, arguments, headers=None, binds=BINDS, extra=()):
    caller = ResolvedCaller(arguments, headers)
    old = outcome(request_reference.build_request, target, withs, caller, binds, extra_layers=extra)
    new = outcome(build_request, target, withs, caller, binds, extra_layers=extra)
    assert new == old, (target, withs, arguments)
    return new


def shapes():
    """Every base with every authentication and path; every parameter set with every body
    and authentication (the other parts rotating)."""
    for number, (base, auth, path) in enumerate(itertools.product(BASES, AUTHS, PATHS)):
        yield base, auth, path, PARAMS[number % len(PARAMS)], BODIES[number % len(BODIES)]
    for number, (params, body, auth) in enumerate(itertools.product(PARAMS, BODIES, AUTHS)):
        yield BASES[number % len(BASES)], auth, PATHS[number % len(PATHS)], params, body


def test_every_shape_builds_what_the_per_call_builder_built():
    kinds: dict[str, int] = {}
    for number, (base, auth, path, params, body) in enumerate(shapes()):
        # Every shape with a plain call; the hostile values on a rotating subset.
        target = operation(base, auth, path, params, body, ("GET", "POST", "PUT")[number % 3])
        result = compare(target, {}, HOSTILE[1])
        kinds[result[0]] = kinds.get(result[0], 0) + 1
        if number % 5 == 0:
            for arguments, withs in itertools.product(HOSTILE, WITHS):
                compare(target, withs, arguments)
    assert kinds["request"] > 500 and kinds["error"] > 500  # both paths are exercised


@pytest.mark.parametrize("arguments", HOSTILE)
@pytest.mark.parametrize("params", PARAMS)
def test_hostile_values_on_a_sendable_operation(arguments, params):
    target = operation(
        "http://h.example/base",
        {"type": "bearer", "token": "{{TOKEN}}"},
        "/a/{x}/b/{{y}}",
        params,
        None,
    )
    for withs in WITHS:
        compare(target, withs, arguments)
        compare(target, withs, arguments, headers={"Idempotency-Key": "k-1"})
        compare(target, withs, arguments, headers={"Idempotency-Key": "k\r\nX: 1"})


def test_extra_layers_and_a_shared_plan_give_the_same_request_each_call():
    target = operation(
        "http://h", None, "/s/{{x}}", (Param("X-From", "header", value="{{step}}"),), None
    )
    results = {"step": "from-step", "x": "step-x"}
    extra = (results.get,)
    extra = (lambda key: results.get(key, MISSING),)
    first = compare(target, {}, {"x": "c"}, extra=extra)
    assert compare(target, {}, {"x": "c"}, extra=extra) == first
    assert ("X-From", "from-step") in first[4]


# --------------------------------------------------------------------------- the trust boundary


TARGET = operation(
    "https://{{HOST}}/api",
    {"type": "bearer", "token": "{{TOKEN}}"},
    "/ships/{{imo}}",
    (Param("imo", "path"), Param("X-Trace", "header"), Param("sid", "cookie"), Param("q", "query")),
    None,
    "GET",
)


def built(arguments, headers=None, binds=BINDS):
    return build_request(TARGET, {}, ResolvedCaller(arguments, headers), binds)


@pytest.mark.parametrize("value", ["..", ".", "%2e%2e", "%2E.", "a/../..", "..\\x", "%2F..%2F"])
def test_a_path_value_cannot_leave_its_segment(value):
    with pytest.raises(InvalidParameter):
        built({"imo": value})


@pytest.mark.parametrize("value", ["a/b", "a?b=1", "a#b", "é", "a b", "@evil.example"])
def test_a_path_value_is_one_encoded_segment_on_the_declared_host(value):
    request = built({"imo": value})
    assert request.url.startswith("https://api.example.com/api/ships/")
    segment = request.url.removeprefix("https://api.example.com/api/ships/")
    assert "/" not in segment and "?" not in segment and "#" not in segment and "@" not in segment
    assert wire(request).startswith(b"GET /api/ships/" + segment.encode() + b" HTTP/1.1\r\n")


def test_a_caller_value_never_reaches_the_host_nor_shadows_a_bind():
    request = built({"imo": "x", "HOST": "evil.example", "TOKEN": "caller", "env": {"TOKEN": "c"}})
    assert request.url == "https://api.example.com/api/ships/x"
    assert ("authorization", "Bearer tok-1") in request.headers
    assert b"Host: api.example.com\r\n" in wire(request)


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "\x00", "é"])
def test_a_header_value_cannot_inject_a_header(value):
    with pytest.raises(InvalidParameter) as raised:
        built({"imo": "x", "X-Trace": value})
    assert value not in str(raised.value)  # the detail never holds the value
    with pytest.raises(InvalidParameter):
        built({"imo": "x"}, headers={"Idempotency-Key": value})


def test_a_cookie_value_cannot_start_another_cookie_and_the_caller_cannot_replace_the_credential():
    request = built({"imo": "x", "sid": "a; admin=1", "Authorization": "Bearer mine"})
    assert ("cookie", "sid=a%3B%20admin=1") in request.headers
    assert [v for k, v in request.headers if k.lower() == "authorization"] == ["Bearer tok-1"]


def test_template_text_from_a_caller_is_data():
    request = built({"imo": "{{TOKEN}}", "q": "{{env.TOKEN}}", "X-Trace": "{{TOKEN}}"})
    assert "tok-1" not in request.url and "tok-1" not in str(request.params)
    assert ("X-Trace", "{{TOKEN}}") in request.headers


def test_binds_are_read_on_every_call_not_kept_in_the_plan():
    environ = dict(ENV)
    binds = Binds(BINDS.sources, environ)
    assert ("authorization", "Bearer tok-1") in built({"imo": "x"}, binds=binds).headers
    environ["TOKEN"], environ["HOST"] = "rotated", "other.example"
    request = built({"imo": "x"}, binds=binds)
    assert ("authorization", "Bearer rotated") in request.headers
    assert request.url.startswith("https://other.example/")
    del environ["TOKEN"]
    with pytest.raises(SecretMissing):
        built({"imo": "x"}, binds=binds)
    environ["TOKEN"] = "bad\r\nX: 1"
    with pytest.raises(UpstreamNotConfigured):
        built({"imo": "x"}, binds=binds)


def test_the_plan_is_compiled_once_per_operation():
    assert TARGET.plan is TARGET.plan
    assert operation("http://h", None, "/x", (), None).plan is not TARGET.plan


# A namespace named like a variable, and a variable of two namespaces: the names the
# shortcuts of ``compile_render`` must leave to ``render``.
ODD = Binds(
    (
        BindSource("SECRET", (("SECRET", "SECRET"), ("TOKEN", "TOKEN"))),
        BindSource("env", (("TOKEN", "OTHER"), ("HOST", "HOST"))),
    ),
    {**ENV, "SECRET": "s3", "OTHER": "other-token"},
)
TEMPLATES = [
    "plain",
    "{{TOKEN}}",
    "{{ TOKEN }}",
    "{{SECRET}}",
    "{{SECRET.TOKEN}}",
    "{{env.TOKEN}}",
    "{{env.NOPE}}",
    "{{env}}",
    "{{who}}",
    "{{who.name}}",
    "{{n}}",
    "{{a.b.c}}",
    "{{who}}-{{TOKEN}}",
    "{{#list}}{{.}}{{/list}}",
    "{{UNSET}}",
    "{{env.UNSET}}",
]
LAYERS = [
    (),
    (lambda key: {"who": {"name": "n"}, "n": 3, "a": {"b": {"c": None}}}.get(key, MISSING),),
    (
        lambda key: {"who": "me", "TOKEN": "caller", "env": {"TOKEN": "c"}, "list": [1]}.get(
            key, MISSING
        ),
    ),
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_compiled_template_renders_what_render_renders(template):
    from capabilities_app.runtime.templating import compile_render, render

    compiled = compile_render(template)
    for layers, binds in itertools.product(LAYERS, [None, BINDS, ODD]):
        expected = outcome(render, template, layers, binds)
        assert outcome(compiled, layers, binds) == expected, (layers, binds)
        if expected[0] != "error":
            assert type(compiled(layers, binds)) is type(render(template, layers, binds))


def test_odd_binds_build_what_the_per_call_builder_built():
    for auth, params in itertools.product(AUTHS[:9], PARAMS):
        target = operation("https://{{env.HOST}}", auth, "/x/{x}", params, BODIES[1])
        for arguments in HOSTILE:
            compare(target, {}, arguments, binds=ODD)
