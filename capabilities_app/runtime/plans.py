"""The upstream request of one consumed operation, compiled once per catalog version (§4).

:func:`compile_plan` reads an :class:`~capabilities_app.runtime.catalog.UpstreamOperation`
once (``UpstreamOperation.plan`` keeps the result on the frozen operation, so a new
catalog version compiles anew) and keeps what no call can change: each parameter's
kind (a literal of the document, already placed and checked; a template, read once; a
value the ``with`` values or the caller give), the path template's literal parts and
its leading slash, a base URI without placeholders (resolved and checked once), the
method, whether there is a body to build, and the authentication's kind and fields
(each field's template read once). :meth:`Plan.request` fills in, per call, the
caller's values, the ``with`` values and the bind variables.

Binds are read live, on every call, exactly as before: a template naming a bind
variable (the base URI's placeholders, a credential, a parameter) reads the process
environment or the bound file when the request is built, so a rotated secret takes
effect without a catalog change, and a bind's value is never kept here.

The trust boundary is unchanged (``requests``, ``docs/trust-boundary.md``): a caller
value is one percent-encoded path segment, an encoded query value or cookie, a header
value without control characters, escaped for the body's format; it never reaches the
base URI or the authentication, and never stands in for a bind variable.
``tests/support/request_reference.py`` keeps the builder this replaces; the plan is
held to it request for request.

Must not import Django models, httpx (``upstream`` does) or the MCP SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from capabilities_app.core.errors import (
    InvalidParameter,
    MissingParameter,
    UpstreamNotConfigured,
)
from capabilities_app.runtime import upstream
from capabilities_app.runtime.callers import Caller
from capabilities_app.runtime.catalog import Param, UpstreamOperation
from capabilities_app.runtime.requests import (
    HEADER_UNSAFE,
    Placed,
    as_text,
    check_header,
    place,
    put_credential_header,
    resolve_base_uri,
    segment,
    set_body,
)
from capabilities_app.runtime.templating import (
    MISSING,
    Binds,
    Rendering,
    compile_render,
    mapping_layer,
    render_value,
)

__all__ = ["Plan", "build_request", "compile_plan"]

# How a parameter gets its value on a call.
_READY = 0  # a literal of the document, placed once: its entry is kept
_LITERAL = 1  # a literal that cannot be placed (a header it cannot send): placed per call
_TEMPLATE = 2  # a template, rendered per call (read once)
_INPUT = 3  # the with values, else the caller
# The path's leading slash: never added, always added, or added when the path lacks it.
_AS_IS, _SLASH, _CHECK = 0, 1, 2
_USER_AGENT = ("user-agent", "capability-registry")


@dataclass(frozen=True)
class _Step:
    param: Param
    kind: int
    # _READY: what placing the literal gave (a path or body value, a header or cookie
    # pair, the query pairs); _TEMPLATE: the template read once.
    entry: Any = None


@dataclass(frozen=True)
class _Field:
    """A field of the authentication: its template read once, rendered over the binds."""

    rendering: Rendering | None
    text: str = ""

    def value(self, binds: Binds) -> str:
        return self.text if self.rendering is None else self.rendering((), binds)


@dataclass(frozen=True)
class Plan:
    """What :func:`build_request` needs of one consumed operation, read once."""

    target: UpstreamOperation
    steps: tuple[_Step, ...]
    path_head: str  # the path's literal before its first variable
    path_rest: tuple[tuple[str, str], ...]  # (variable, the literal after it)
    slash: int
    base: str | None  # the base URI when it has no placeholder (checked); else per call
    has_body: bool
    auth: str | None  # the authentication's kind, when it has one
    fields: dict[str, _Field]
    query_key: bool  # an API key sent as a query parameter

    def request(
        self, withs: dict[str, Any], caller: Caller, binds: Binds, extra_layers: tuple = ()
    ) -> upstream.Request:
        """The upstream request for one call (§4); every check happens before any I/O."""
        target = self.target
        layers = (*extra_layers, mapping_layer(withs), caller.lookup)
        placed = Placed()
        url_values = placed.url_values
        missing: list[str] = []
        for step in self.steps:
            param = step.param
            kind = step.kind
            if kind == _READY:
                location = param.location
                if location == "query":
                    placed.query.extend(step.entry)
                elif location == "header":
                    placed.headers.append(step.entry)
                elif location == "cookie":
                    placed.cookies.append(step.entry)
                elif location == "path":
                    url_values[param.name] = step.entry
                elif location == "body":
                    placed.body[param.name] = step.entry
                continue
            trusted = False
            if kind == _TEMPLATE:
                value = step.entry(layers, binds)
            elif kind == _LITERAL:
                value, trusted = param.value, True
            elif param.name in withs:
                value = withs[param.name]
            else:
                value = caller.lookup(param.name)
            if value is MISSING or value is None:
                if param.required or param.location == "path":
                    missing.append(f"{param.name} ({param.location})")
                continue
            try:
                place(placed, param.location, param.name, value, trusted=trusted)
            except InvalidParameter:
                if kind == _TEMPLATE:
                    _blame_the_configuration(target, param, binds)
                raise
        for variable in target.path.variables:
            if variable in url_values:
                continue
            value = withs.get(variable, MISSING)
            if value is MISSING:
                value = caller.lookup(variable)
            if value is MISSING or value is None:
                missing.append(f"{variable} (path)")
            else:
                url_values[variable] = value
        if missing:
            raise MissingParameter(
                "missing required parameter"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(missing)
            )
        path = self.path_head
        for variable, literal in self.path_rest:
            path += segment(variable, url_values[variable]) + literal
        if self.slash == _SLASH or (self.slash == _CHECK and path and path[0] != "/"):
            path = "/" + path
        base = self.base if self.base is not None else resolve_base_uri(target.upstream, binds)
        request = upstream.Request(method=target.method, url=base + path, params=placed.query)
        extra = getattr(caller, "upstream_headers", {})
        for name, value in extra.items():
            check_header(name, value)
        headers = [_USER_AGENT, *placed.headers]
        if extra:
            headers.extend(extra.items())
        if placed.cookies:
            headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in placed.cookies)))
        request.headers = headers
        if self.has_body or placed.body:
            set_body(request, target, placed.body, layers, binds)
        if self.auth is not None:
            self._authenticate(request, binds)
        return request

    def _authenticate(self, request: upstream.Request, binds: Binds) -> None:
        """``requests.apply_authentication`` with the fields read once (binds per call)."""
        kind = self.auth
        fields = self.fields
        if kind == "bearer":
            token = fields["token"].value(binds)
            if token:
                self._only_header(request, "authorization", f"Bearer {token}")
        elif kind in ("basic", "digest"):
            request.headers = [(k, v) for k, v in request.headers if k.lower() != "authorization"]
            make = upstream.basic_auth if kind == "basic" else upstream.digest_auth
            request.auth = make(fields["username"].value(binds), fields["password"].value(binds))
        elif kind == "apikey":
            key, value = fields["key"].value(binds), fields["value"].value(binds)
            if self.query_key:
                request.params = [(k, v) for k, v in request.params if k != key]
                request.params.append((key, value))
            else:
                self._only_header(request, key, value)

    def _only_header(self, request: upstream.Request, name: str, value: str) -> None:
        put_credential_header(
            request, name, value, kind=str(self.auth), namespace=self.target.upstream.namespace
        )


def build_request(
    target: UpstreamOperation,
    withs: dict[str, Any],
    caller: Caller,
    binds: Binds,
    *,
    extra_layers: tuple = (),
) -> upstream.Request:
    """The upstream request for ``target`` (§4), from its plan; checks before any I/O."""
    return target.plan.request(withs, caller, binds, extra_layers)


def _blame_the_configuration(target: UpstreamOperation, param: Param, binds: Binds) -> None:
    """503, not the caller's 400, when a header value is unsendable without any caller value.

    Only on that error path: the parameter's template is rendered over the binds alone.
    """
    if param.location != "header":
        return
    if HEADER_UNSAFE.search(as_text(render_value(param.value, (), binds))):
        raise UpstreamNotConfigured(
            f"header parameter {param.name!r} of consumes {target.upstream.namespace!r} "
            "renders a bind variable's value that cannot be sent as a header (a line break, "
            "a control character or non-ASCII text); check the bind variable's value"
        )


# --------------------------------------------------------------------------- compiling


def compile_plan(target: UpstreamOperation) -> Plan:
    """Read ``target`` once; never raises (what is wrong is refused per call, as before)."""
    parts = target.path.parts
    head = parts[0] if parts else ""
    rest = tuple((parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2))
    slash = (_AS_IS if head.startswith("/") else _SLASH) if head else _CHECK
    auth = target.upstream.authentication or None
    kind = auth.get("type") if auth else None
    kind = kind if isinstance(kind, str) and kind in _FIELDS else None
    return Plan(
        target=target,
        steps=tuple(_step(param) for param in target.parameters),
        path_head=head,
        path_rest=rest,
        slash=slash,
        base=_static_base(target),
        has_body=target.body is not None,
        auth=kind,
        fields={name: _field(auth.get(name)) for name in _FIELDS[kind]} if auth and kind else {},
        query_key=auth is not None and auth.get("placement") == "query",
    )


_FIELDS = {
    "bearer": ("token",),
    "basic": ("username", "password"),
    "digest": ("username", "password"),
    "apikey": ("key", "value"),
}


def _step(param: Param) -> _Step:
    value = param.value
    if value is None:
        return _Step(param, _INPUT)
    if isinstance(value, str) and "{{" in value:
        return _Step(param, _TEMPLATE, compile_render(value))
    if isinstance(value, dict | list):
        # A structured literal stays the document's own object, placed per call as before
        # (a body value is the one placement that keeps the object itself).
        if param.location == "body":
            return _Step(param, _READY, value)
        return _Step(param, _LITERAL)
    scratch = Placed()
    try:
        place(scratch, param.location, param.name, value, trusted=True)
    except InvalidParameter:
        return _Step(param, _LITERAL)  # refused on every call, as before
    location = param.location
    if location == "query":
        entry: Any = tuple(scratch.query)
    elif location == "header":
        entry = scratch.headers[0]
    elif location == "cookie":
        entry = scratch.cookies[0]
    elif location == "path":
        entry = scratch.url_values[param.name]
    elif location == "body":
        entry = scratch.body[param.name]
    else:
        entry = None  # "environment" parameters configure the adapter; nothing is sent
    return _Step(param, _READY, entry)


def _field(value: Any) -> _Field:
    if isinstance(value, str):
        if "{{" not in value:
            return _Field(None, value)
        return _Field(compile_render(value))
    return _Field(None, as_text(value or ""))


def _static_base(target: UpstreamOperation) -> str | None:
    """The base URI when it has no placeholder and is usable; None: resolved per call."""
    base = (target.upstream.base_uri or "").strip()
    if "{" in base:
        return None
    try:
        return resolve_base_uri(target.upstream, Binds())
    except UpstreamNotConfigured:
        return None  # refused on every call, as before
