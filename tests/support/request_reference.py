"""The per-call request builder as it was before plans (``runtime/plans.py``), kept verbatim.

``runtime/requests.py`` at commit ff1d5a6 built every upstream request from the
consumed operation on every call. ``runtime/plans.py`` now compiles what is static
once per operation and catalog version; this copy of the old builder (its control flow
and the private helpers it used, unchanged; the public helpers it shares with the
forward path, ``as_text``, ``check_header``, ``resolve_base_uri`` and
``apply_authentication``, imported) is what the compiled path is held to:
``tests/integration/test_request_plans.py`` and ``tests/unit/test_request_plans.py``
compare their requests and wire bytes, and ``bench/request_build.py`` times both.

Not used by the registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from capabilities_app.core.errors import (
    InvalidParameter,
    MissingParameter,
    UpstreamNotConfigured,
)
from capabilities_app.runtime import upstream
from capabilities_app.runtime.callers import Caller
from capabilities_app.runtime.catalog import Param, UpstreamOperation
from capabilities_app.runtime.outcome import JSON
from capabilities_app.runtime.requests import (
    apply_authentication,
    as_text,
    check_header,
    resolve_base_uri,
)
from capabilities_app.runtime.templating import (
    MISSING,
    Binds,
    BindValue,
    has_tags,
    mapping_layer,
    render_body,
    render_value,
)

__all__ = ["build_request"]

# What a header value may hold: printable ASCII and tab. CR/LF would start a header of
# the caller's choosing; other control characters and non-ASCII text cannot be sent.
_HEADER_UNSAFE = re.compile(r"[^\t\x20-\x7e]")
# RFC 6265 cookie-octets other than "%": a caller's ";", ",", space, quote, backslash
# (and "%" itself) are percent-encoded, so a value can never start another cookie.
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
_PATH_SEPARATORS = re.compile(r"[/\\]")
_BODY_TYPES = {
    "json": JSON,
    "text": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "sparql": "application/sparql-query",
}


@dataclass
class _Placed:
    url_values: dict[str, Any] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)


def build_request(
    target: UpstreamOperation,
    withs: dict[str, Any],
    caller: Caller,
    binds: Binds,
    *,
    extra_layers: tuple = (),
) -> upstream.Request:
    """The upstream request for ``target`` (§4); every check happens before any I/O."""
    layers = (*extra_layers, mapping_layer(withs), caller.lookup)
    placed = _Placed()
    missing: list[str] = []
    for param in target.parameters:
        trusted = False
        if param.value is not None:
            if has_tags(param.value):
                value = render_value(param.value, layers, binds)
            else:
                value, trusted = param.value, True  # a literal of the document
        elif param.name in withs:
            value = withs[param.name]
        else:
            value = caller.lookup(param.name)
        if value is MISSING or value is None:
            if param.required or param.location == "path":
                missing.append(f"{param.name} ({param.location})")
            continue
        try:
            _place(placed, param.location, param.name, value, trusted=trusted)
        except InvalidParameter:
            _blame_the_configuration(target, param, binds)
            raise
    for variable in target.path.variables:
        if variable in placed.url_values:
            continue
        value = withs.get(variable, MISSING)
        if value is MISSING:
            value = caller.lookup(variable)
        if value is MISSING or value is None:
            missing.append(f"{variable} (path)")
        else:
            placed.url_values[variable] = value
    if missing:
        raise MissingParameter(
            "missing required parameter" + ("s " if len(missing) > 1 else " ") + ", ".join(missing)
        )
    path = _join_path(target.path.parts, placed.url_values)
    base = resolve_base_uri(target.upstream, binds)
    request = upstream.Request(method=target.method, url=base + path, params=placed.query)
    extra = getattr(caller, "upstream_headers", {})
    for name, value in extra.items():
        check_header(name, value)
    request.headers = [("user-agent", "capability-registry"), *placed.headers, *extra.items()]
    if placed.cookies:
        request.headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in placed.cookies)))
    _set_body(request, target, placed, layers, binds)
    apply_authentication(request, target.upstream, binds)
    return request


def _blame_the_configuration(target: UpstreamOperation, param: Param, binds: Binds) -> None:
    """503, not the caller's 400, when a header value is unsendable without any caller value.

    Only on that error path: the parameter's template is rendered over the binds alone.
    """
    if param.location != "header" or not has_tags(param.value):
        return
    if _HEADER_UNSAFE.search(as_text(render_value(param.value, (), binds))):
        raise UpstreamNotConfigured(
            f"header parameter {param.name!r} of consumes {target.upstream.namespace!r} "
            "renders a bind variable's value that cannot be sent as a header (a line break, "
            "a control character or non-ASCII text); check the bind variable's value"
        )


def _place(placed: _Placed, location: str, name: str, value: Any, *, trusted: bool = False) -> None:
    """One parameter where it goes; ``trusted`` for a literal of the document itself."""
    if location == "path":
        placed.url_values[name] = value
    elif location == "query":
        values = value if isinstance(value, list) else [value]
        placed.query.extend((name, as_text(v)) for v in values)  # httpx encodes them
    elif location == "header":
        text = as_text(value)
        check_header(name, text)
        placed.headers.append((name, text))
    elif location == "cookie":
        text = as_text(value)
        if not (trusted or isinstance(value, BindValue)):
            text = quote(text, safe=_COOKIE_SAFE)
        placed.cookies.append((name, text))
    elif location == "body":
        placed.body[name] = value
    # "environment" parameters configure the adapter; nothing is sent.


def _segment(name: str, value: Any) -> str:
    """A path value as one percent-encoded segment; 400 for a ``.`` or ``..`` segment.

    Checked after percent-decoding (``%2e%2e``) and split at ``/`` and ``\\`` too,
    since some upstreams (and proxies in front of them) decode ``%2F`` before routing.
    """
    text = as_text(value)
    if "." in text or "%" in text:
        decoded = unquote(text) if "%" in text else text
        if any(part in (".", "..") for part in _PATH_SEPARATORS.split(decoded)):
            raise InvalidParameter(
                f"path parameter {name!r} may not be '.' or '..' (nor hold such a segment): "
                "it would leave the declared upstream path"
            )
    return quote(text, safe="")


def _join_path(parts: tuple[str, ...], values: Mapping[str, Any]) -> str:
    """The path with each variable percent-encoded as one segment (``/`` becomes %2F)."""
    out = []
    for i, part in enumerate(parts):
        out.append(part if i % 2 == 0 else _segment(part, values[part]))
    path = "".join(out)
    return path if path.startswith("/") or not path else "/" + path


def _set_body(
    request: upstream.Request,
    target: UpstreamOperation,
    placed: _Placed,
    layers: tuple,
    binds: Binds,
) -> None:
    """The body: an operation's ``body`` (escaped for its format), else body parameters."""
    spec = target.body
    if spec is not None:
        if isinstance(spec, str):
            request.content = render_body(spec, "json", layers, binds).encode()
            request.headers.append(("content-type", JSON))
            return
        if isinstance(spec, dict):
            kind = spec.get("type", "json")
            raw = spec.get("data")
            if kind == "formUrlEncoded":
                if isinstance(raw, dict):  # httpx form-encodes each value
                    data = render_value(raw, layers, binds)
                    request.data = {k: as_text(v) for k, v in data.items()}
                else:
                    text = raw if isinstance(raw, str) else as_text(raw)
                    request.content = render_body(text, "form", layers, binds).encode()
                    request.headers.append(("content-type", "application/x-www-form-urlencoded"))
                return
            if kind == "multipartForm":
                data = render_value(raw, layers, binds)
                request.files = [
                    (
                        str(part.get("name")),
                        (
                            part.get("filename"),
                            as_text(part.get("value", "")).encode(),
                            part.get("contentType") or "text/plain",
                        ),
                    )
                    for part in data or []
                    if isinstance(part, dict)
                ]
                return
            if kind == "json":
                # Each string of the data renders on its own, then the whole is serialised:
                # a caller value is always inside one JSON string.
                data = render_value(raw, layers, binds)
                request.content = json.dumps(data, ensure_ascii=False).encode()
            elif isinstance(raw, str):
                # xml is escaped; text and sparql are plain text, inserted as they are.
                body_format = "xml" if kind == "xml" else "text"
                request.content = render_body(raw, body_format, layers, binds).encode()
            else:
                request.content = as_text(render_value(raw, layers, binds)).encode()
            request.headers.append(("content-type", _BODY_TYPES.get(kind, JSON)))
            return
    if not placed.body:
        return
    if len(placed.body) == 1:
        (value,) = placed.body.values()
    else:
        value = placed.body
    if isinstance(value, str):
        request.content = value.encode()
        request.headers.append(("content-type", "text/plain; charset=utf-8"))
    else:
        request.content = json.dumps(value, ensure_ascii=False).encode()
        request.headers.append(("content-type", JSON))


# --------------------------------------------------------------------------- comparing


def _auth(auth: Any) -> Any:
    if auth is None:
        return None
    if isinstance(auth, upstream._Basic):
        return ("basic", auth.header)
    return (type(auth).__name__, getattr(auth, "_username", None), getattr(auth, "_password", None))


def wire(request: upstream.Request) -> bytes | None:
    """The bytes the short path writes for ``request`` (None: httpx builds it)."""
    short = request.files is None and request.data is None and "@" not in request.url
    if not short or not (request.auth is None or isinstance(request.auth, upstream._Basic)):
        return None
    method = request.method.upper()
    try:
        origin, target = upstream._target(request.url, request.params)
        basic = request.auth.header if isinstance(request.auth, upstream._Basic) else ""
        lines = upstream._lines(method, origin, request.headers, request.content, basic)
        return upstream._head(method, target, lines) + (request.content or b"")
    except Exception as exc:  # what send would refuse: the same for both builders
        return f"{type(exc).__name__}: {exc}".encode()


def outcome(build: Any, *args: Any, **kwargs: Any) -> tuple:
    """What ``build(*args, **kwargs)`` gives, comparable: the request's every field, its
    bytes on the wire and the type of each header value (any other value and its type);
    or the error's type and detail."""
    try:
        request = build(*args, **kwargs)
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))
    if not isinstance(request, upstream.Request):
        return ("value", request, type(request).__name__)
    return (
        "request",
        request.method,
        request.url,
        list(request.params),
        list(request.headers),
        [type(v).__name__ for _, v in request.headers],
        request.content,
        request.files,
        request.data,
        _auth(request.auth),
        wire(request),
    )
