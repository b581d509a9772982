"""Running an operation: the one code path behind the REST surface, MCP tools and jobs.

``invoke(operation, caller)`` resolves the caller's parameters (RUNTIME-CONTRACT §3),
builds and sends the upstream request (§4), and shapes the answer (§5), for every
mode an operation can have (§7): a ``call``, ``steps`` (call and lookup), a ``ref`` to
an aggregate function, or a mock. ``forward`` proxies a REST path as it is.

A caller is anything with ``lookup(name)``: :class:`RestCaller` reads an HTTP request,
:class:`ArgumentsCaller` a dict of tool arguments. Calls do not run on them directly:
``arguments_of`` looks up, once, every name the operation can read
(``Operation.reads``) and keeps the values as plain data, and the call runs on a
:class:`ResolvedCaller` over that data. A synchronous REST call, a job (which stores
exactly that data) and an MCP tool call therefore send the same upstream request. A
caller's credentials are never parameters. Errors are registry errors
(``exceptions``, ``upstream``, ``templating``), raised before any upstream request
when they concern the caller's input or the configuration.

The trust boundary (§4, ``docs/trust-boundary.md``): ``baseUri`` and authentication
render over the bind variables alone; every template reads the binds before the
``with`` values and the caller; a caller value is data wherever it lands (one
percent-encoded path segment that is never ``.`` or ``..``, an encoded query value or
cookie, a header value without control characters, escaped for the body's format).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, unquote_plus, urlencode

from django.conf import settings

from capabilities_app.core import decoding
from capabilities_app.core.errors import (
    InvalidBody,
    InvalidParameter,
    MissingParameter,
    OperationNotServed,
    StepNotSupported,
    UpstreamNotConfigured,
)
from capabilities_app.runtime import mapping, upstream
from capabilities_app.runtime.catalog import (
    CapabilityContext,
    InputParam,
    Operation,
    Route,
    Upstream,
    UpstreamOperation,
    normalise,
)
from capabilities_app.runtime.templating import (
    MISSING,
    Binds,
    BindValue,
    has_tags,
    mapping_layer,
    render,
    render_body,
    render_value,
)

JSON = "application/json"
# A baseUri placeholder: {{VAR}}, {{namespace.VAR}} or a single-brace {VAR}.
_BASE_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}|\{\s*([^{}]*?)\s*\}")
_USABLE_BASE = re.compile(r"^https?://[^/{}\s]+")
# What a header value may hold: printable ASCII and tab. CR/LF would start a header of
# the caller's choosing; other control characters and non-ASCII text cannot be sent.
_HEADER_UNSAFE = re.compile(r"[^\t\x20-\x7e]")
# RFC 6265 cookie-octets other than "%": a caller's ";", ",", space, quote, backslash
# (and "%" itself) are percent-encoded, so a value can never start another cookie.
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
_PATH_SEPARATORS = re.compile(r"[/\\]")
# Never sent upstream from the caller's request, unless a forward trusts them.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_BODY_TYPES = {
    "json": JSON,
    "text": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "sparql": "application/sparql-query",
}


# Upstream response headers an answer keeps (docs/limits.md). Location and
# Retry-After tell the caller where to go and when to come back (a 3xx, a 201, a 429
# or 503), Content-Language describes the content whatever its shape. Nothing else:
# cookies, caching headers (a shared cache must not learn an answer is public when
# the expose is guarded) and the upstream's own headers stay upstream.
PASSED_HEADERS = ("location", "retry-after", "content-language")


def passed_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The :data:`PASSED_HEADERS` an upstream answer carries, as the upstream wrote them."""
    return tuple((name.title(), headers[name]) for name in PASSED_HEADERS if name in headers)


@dataclass
class Outcome:
    """What an operation answered: raw bytes as they came, or data to render as JSON."""

    status: int
    content_type: str = JSON
    content: bytes | None = None
    data: Any = None
    from_upstream: bool = False
    retry_after: str | None = None  # the upstream's Retry-After, on an error answer
    # Upstream headers passed to the caller (PASSED_HEADERS); a Location is not rewritten.
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def as_it_came(cls, response: upstream.Response) -> Outcome:
        """The upstream's answer, unmapped: status, body and content type as they came."""
        return cls(
            response.status,
            response.content_type,
            content=response.content,
            from_upstream=True,
            retry_after=response.headers.get("retry-after"),
            headers=passed_headers(response.headers),
        )

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    def json(self) -> Any:
        """The answer as data: raw JSON bytes are parsed within the decoding limits;
        other bytes, and JSON past those limits (nested too deep, too many values),
        are text, as they came."""
        if self.content is None:
            return self.data
        if not self.content:
            return None
        try:
            return decoding.load_json(self.content)
        except ValueError:  # decoding.Refused included
            return self.content.decode("utf-8", errors="replace")

    def body(self) -> bytes:
        if self.content is not None:
            return self.content
        return json.dumps(self.data, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- callers

# A caller's own credentials: never a parameter, so never sent upstream nor stored in a
# job (a ``forward`` that trusts them reads ``forwardable_headers``, not ``lookup``).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class ResolvedCaller:
    """Caller parameters already looked up (:func:`arguments_of`): exact names, plain data.

    What every call runs on: the synchronous REST view, a job's worker (from the
    arguments the job stored) and MCP tool calls.
    """

    def __init__(
        self, arguments: Mapping[str, Any], upstream_headers: Mapping[str, str] | None = None
    ) -> None:
        self.arguments = arguments
        # Sent upstream as they are (an Idempotency-Key), never part of the arguments.
        self.upstream_headers = dict(upstream_headers or {})

    def lookup(self, name: str) -> Any:
        return self.arguments.get(name, MISSING)

    def forwardable_headers(self) -> Mapping[str, str]:
        return {}


def arguments_of(operation: Operation, caller: Any) -> dict[str, Any]:
    """The value of every caller parameter ``operation`` can read, as JSON-able data.

    Names the caller has no value for are left out. Raises what a lookup raises (a
    declared parameter of the wrong type: 400), before any upstream request.
    """
    arguments = {}
    for name in operation.reads:
        value = caller.lookup(name)
        if value is not MISSING:
            arguments[name] = value
    return arguments


def tool_arguments(operation: Operation, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """A tool call's arguments resolved by the MCP rules (exact name, then normalised).

    Resolving them again changes nothing: every name kept is found exactly.
    """
    return arguments_of(operation, ArgumentsCaller(arguments))


class ArgumentsCaller:
    """Caller parameters from a dict of arguments (an MCP tool call, a job)."""

    upstream_headers: Mapping[str, str] = {}

    def __init__(self, arguments: Mapping[str, Any] | None) -> None:
        self.arguments = dict(arguments or {})
        self._normal = {normalise(k): v for k, v in self.arguments.items()}

    def lookup(self, name: str) -> Any:
        if name in self.arguments:
            return self.arguments[name]
        if name == "body":
            return MISSING
        return self._normal.get(normalise(name), MISSING)

    def forwardable_headers(self) -> Mapping[str, str]:
        return {}


class RestCaller:
    """Caller parameters from an HTTP request, looked up as RUNTIME-CONTRACT §3 says.

    The caller's credentials are not parameters: the ``Authorization``,
    ``Proxy-Authorization`` and ``Cookie`` headers, and the expose's own credential
    (``hidden_headers``, ``hidden_query``: where its ``apikey`` is), and the registry's
    (``registry_headers``: a client key's header), are never looked up. Declared
    ``in: cookie`` parameters are read from the cookies as declared.
    """

    def __init__(
        self,
        *,
        path_values: Mapping[str, str],
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        body: bytes,
        content_type: str,
        declared: Iterable[InputParam] = (),
        hidden_headers: Iterable[str] = (),
        hidden_query: Iterable[str] = (),
        registry_headers: Iterable[str] = (),
    ) -> None:
        self.path_values = dict(path_values)
        self.query: dict[str, str] = {}
        for key, value in query:
            self.query.setdefault(key, value)  # the first value counts
        for key in hidden_query:
            self.query.pop(key, None)
        self.headers = {k.lower(): v for k, v in headers.items()}
        # The header of the caller's registry credential (a client key, a token): never a
        # parameter, never forwarded, even by a forward whose trustedHeaders list it.
        self.registry_headers = frozenset(h.lower() for h in registry_headers)
        self.hidden = CREDENTIAL_HEADERS.union(h.lower() for h in hidden_headers).union(
            self.registry_headers
        )
        self.cookies = dict(cookies)
        self.raw_body = body
        self.content_type = content_type
        self.declared = {p.name: p for p in declared}
        self._parsed: Any = MISSING
        # Sent upstream as they are: an Idempotency-Key lets the upstream deduplicate.
        key = self.headers.get("idempotency-key")
        self.upstream_headers = {"Idempotency-Key": key} if key else {}

    def parsed_body(self) -> Any:
        """The request body: parsed JSON, else its text; MISSING when empty.

        JSON past the decoding limits (nesting, values) is refused (400), never parsed.
        """
        if self._parsed is MISSING and self.raw_body:
            try:
                self._parsed = decoding.load_json(self.raw_body)
            except decoding.Refused as exc:
                raise InvalidBody(f"the JSON request body is refused: {exc}") from exc
            except ValueError:
                self._parsed = self.raw_body.decode("utf-8", errors="replace")
        return self._parsed

    def lookup(self, name: str) -> Any:
        declared = self.declared.get(name)
        if declared is not None:
            return self._declared(declared)
        if name == "body":
            return self.parsed_body()
        wanted = normalise(name)
        for key, value in self.path_values.items():
            if normalise(key) == wanted:
                return value
        if name in self.query:
            return self.query[name]
        for key, value in self.query.items():
            if normalise(key) == wanted:
                return value
        header = name.lower()
        if header in self.headers and header not in self.hidden:
            return self.headers[header]
        body = self.parsed_body()
        if isinstance(body, dict) and name in body:
            return body[name]
        return MISSING

    def _declared(self, param: InputParam) -> Any:
        location = (param.location or "").lower()
        value: Any = MISSING
        if location == "path":
            value = self.path_values.get(param.name, MISSING)
            if value is MISSING:
                wanted = normalise(param.name)
                value = next(
                    (v for k, v in self.path_values.items() if normalise(k) == wanted), MISSING
                )
        elif location == "query":
            value = self.query.get(param.name, MISSING)
        elif location == "header":
            header = param.name.lower()
            value = MISSING if header in self.hidden else self.headers.get(header, MISSING)
        elif location == "cookie":
            value = self.cookies.get(param.name, MISSING)
        elif location == "body":
            body = self.parsed_body()
            if isinstance(param.value, str) and param.value.startswith("$"):
                return mapping.select(param.value, body) if body is not MISSING else MISSING
            if isinstance(body, dict) and param.name in body:
                return body[param.name]
            return body
        if value is MISSING:
            if param.value is not None and not (
                isinstance(param.value, str) and param.value.startswith("$")
            ):
                return param.value
            return MISSING
        return _coerce(param, value)

    def forwardable_headers(self) -> Mapping[str, str]:
        if not self.registry_headers:
            return self.headers
        return {k: v for k, v in self.headers.items() if k not in self.registry_headers}


def _coerce(param: InputParam, value: Any) -> Any:
    """Text from a path, query, header or cookie, as the declared type says."""
    if not isinstance(value, str) or param.type not in ("integer", "number", "boolean"):
        return value
    try:
        if param.type == "integer":
            return int(value)
        if param.type == "number":
            return float(value) if any(c in value for c in ".eE") else int(value)
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(value)
    except ValueError as exc:
        raise InvalidParameter(
            f"parameter {param.name!r} must be a {param.type}, not {value!r}"
        ) from exc


# --------------------------------------------------------------------------- invoke


def invoke(operation: Operation, caller: Any) -> Outcome:
    """Run ``operation`` for ``caller`` and return its outcome."""
    if operation.unserved is not None:  # kept by a lenient import, cannot run: 503
        raise OperationNotServed(operation.unserved)
    if operation.ref is not None:
        # The function runs with the same caller; its own namespace becomes a prefix.
        return invoke(operation.ref, caller)
    if operation.steps:
        return _orchestrate(operation, caller)
    if operation.call is not None:
        return _call(operation, caller)
    if operation.output_parameters:
        return _mock(operation, caller)
    return Outcome(204, content=b"")


def _prefixes(operation: Operation) -> tuple[str, ...]:
    return ("rest", "tools", operation.namespace)


def evaluate_with(
    values: Any,
    operation: Operation,
    caller: Any,
    extra_layers: tuple = (),
) -> dict[str, Any]:
    """``with`` values (§3): a reference, a template, or a literal; missing ones are left out."""
    if not isinstance(values, dict):
        return {}
    prefixes = _prefixes(operation)
    layers = (*extra_layers, caller.lookup)
    binds = operation.context.binds

    def evaluate(value: Any) -> Any:
        if isinstance(value, str):
            prefix, dot, name = value.partition(".")
            if dot and prefix in prefixes and name:
                return caller.lookup(name)
            if "{{" in value:
                return render(value, layers, binds)
            return value
        if isinstance(value, dict):
            inner = {k: evaluate(v) for k, v in value.items()}
            return {k: v for k, v in inner.items() if v is not MISSING}
        return value

    result = {}
    for key, value in values.items():
        evaluated = evaluate(value)
        if evaluated is not MISSING:
            result[key] = evaluated
    return result


def _call(operation: Operation, caller: Any) -> Outcome:
    response = _client().send(prepare(operation, caller))
    return shape(operation, response)


def prepare(operation: Operation, caller: Any) -> upstream.Request:
    """The upstream request of a ``call`` operation, checked but not sent.

    Raises what the call would raise before any I/O: a missing parameter (400), a
    missing secret or an unconfigured upstream (503).
    """
    withs = evaluate_with(operation.with_values, operation, caller)
    return build_request(operation.call, withs, caller, operation.context.binds)


def _client() -> upstream.Client:
    return upstream.get_client(upstream_settings)


def upstream_settings() -> upstream.Settings:
    return upstream.Settings(
        timeout=settings.REGISTRY_UPSTREAM_TIMEOUT,
        connect_timeout=settings.REGISTRY_UPSTREAM_CONNECT_TIMEOUT,
        allowed_networks=upstream.parse_networks(settings.REGISTRY_UPSTREAM_ALLOWED_NETWORKS),
        max_bytes=settings.REGISTRY_MAX_UPSTREAM_BYTES,
    )


def shape(operation: Operation, response: upstream.Response) -> Outcome:
    """The caller's answer from the upstream's (§5)."""
    if not 200 <= response.status < 300:
        return Outcome.as_it_came(response)
    content_type = response.content_type
    headers = passed_headers(response.headers)
    outputs = operation.output_parameters
    raw_format = (operation.call.output_raw_format or "").lower() if operation.call else None
    if not outputs or (mapping.is_pass_through(outputs) and raw_format in mapping.JSON_FORMATS):
        return Outcome(
            response.status,
            content_type or JSON,
            content=response.content,
            from_upstream=True,
            headers=headers,
        )
    data = mapping.decode(response.content, raw_format)
    mapped = mapping.map_outputs(outputs, data, xml=raw_format == "xml")
    return Outcome(response.status, JSON, data=mapped, from_upstream=True, headers=headers)


def _mock(operation: Operation, caller: Any) -> Outcome:
    binds = operation.context.binds
    data = mapping.map_outputs(
        operation.output_parameters,
        None,
        render=lambda template: render(template, (caller.lookup,), binds),
    )
    return Outcome(200, JSON, data=data)


# --------------------------------------------------------------------------- requests


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
    caller: Any,
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
        _check_header(name, value)
    request.headers = [("user-agent", "capability-registry"), *placed.headers, *extra.items()]
    if placed.cookies:
        request.headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in placed.cookies)))
    _set_body(request, target, placed, layers, binds)
    apply_authentication(request, target.upstream, binds)
    return request


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _check_header(name: str, value: str) -> None:
    """A header value the caller may have written: 400 on CR, LF or what cannot be sent.

    The detail names the parameter, never the value (it may be an injection attempt,
    or someone's credential).
    """
    if _HEADER_UNSAFE.search(value):
        raise InvalidParameter(
            f"header parameter {name!r} has a value that cannot be sent: it contains a line "
            "break, another control character or non-ASCII text"
        )


def _blame_the_configuration(target: UpstreamOperation, param: Any, binds: Binds) -> None:
    """503, not the caller's 400, when a header value is unsendable without any caller value.

    Only on that error path: the parameter's template is rendered over the binds alone.
    """
    if param.location != "header" or not has_tags(param.value):
        return
    if _HEADER_UNSAFE.search(_text(render_value(param.value, (), binds))):
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
        placed.query.extend((name, _text(v)) for v in values)  # httpx encodes them
    elif location == "header":
        text = _text(value)
        _check_header(name, text)
        placed.headers.append((name, text))
    elif location == "cookie":
        text = _text(value)
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
    text = _text(value)
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


def resolve_base_uri(target: Upstream, binds: Binds) -> str:
    """The consumes' base URI, rendered over the bind variables alone (§4).

    ``{{VAR}}``, ``{{namespace.VAR}}`` and ``{VAR}`` are filled from the binds only; a
    placeholder no bind declares, an empty or unusable URI → 503 naming the consumes
    (and the placeholder), never a caller's value.
    """
    base = (target.base_uri or "").strip()
    if base and "{" in base:
        names = [double or single for double, single in _BASE_PLACEHOLDER.findall(base)]
        unresolved = [name for name in dict.fromkeys(names) if not _declared_bind(name, binds)]
        if unresolved:
            raise UpstreamNotConfigured(
                f"the upstream of consumes {target.namespace!r} is not configured (baseUri "
                f"{target.base_uri!r} needs {', '.join(unresolved)}); "
                "set it in the registry's admin"
            )
        base = _BASE_PLACEHOLDER.sub(lambda found: _bind_value(found, binds), base)
    if not base or "{" in base or not _USABLE_BASE.match(base):
        raise UpstreamNotConfigured(
            f"the upstream of consumes {target.namespace!r} is not configured "
            f"(baseUri {target.base_uri!r}); set it in the registry's admin"
        )
    return base.rstrip("/")


def _declared_bind(name: str, binds: Binds) -> bool:
    namespace, _, variable = name.rpartition(".")
    if namespace:
        return any(
            s.namespace == namespace and s.provider_key(variable) is not None for s in binds.sources
        )
    return binds.declares(name)


def _bind_value(found: re.Match, binds: Binds) -> str:
    namespace, _, variable = (found.group(1) or found.group(2)).rpartition(".")
    return binds.value(variable, namespace or None)


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
                    request.data = {k: _text(v) for k, v in data.items()}
                else:
                    text = raw if isinstance(raw, str) else _text(raw)
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
                            _text(part.get("value", "")).encode(),
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
                request.content = _text(render_value(raw, layers, binds)).encode()
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


def _credential_header(target: Upstream) -> str | None:
    """The header the consumes' authentication sends (lower case), if it sends one."""
    auth = target.authentication
    if not auth:
        return None
    kind = auth.get("type")
    if kind in ("bearer", "basic", "digest"):
        return "authorization"
    if kind == "apikey" and auth.get("placement") != "query":
        key = auth.get("key")
        return key.lower() if isinstance(key, str) and key and "{{" not in key else None
    return None


def apply_authentication(request: upstream.Request, target: Upstream, binds: Binds) -> None:
    """Consumes authentication (§4), every field rendered over the bind variables alone.

    The registry's credential wins: a header (or query parameter) of the same name
    already on the request, from a caller's parameter or a forward's trusted headers,
    is dropped, so exactly one credential is sent.
    """
    auth = target.authentication
    if not auth:
        return
    kind = auth.get("type")

    def field_value(name: str) -> str:
        value = auth.get(name)
        return render(value, (), binds) if isinstance(value, str) else _text(value or "")

    def only_header(name: str, value: str) -> None:
        if _HEADER_UNSAFE.search(value) or _HEADER_UNSAFE.search(name):
            raise UpstreamNotConfigured(
                f"the {kind} credential of consumes {target.namespace!r} cannot be sent as a "
                "header (a line break, a control character or non-ASCII text); "
                "check the bind variable's value"
            )
        lowered = name.lower()
        request.headers = [(k, v) for k, v in request.headers if k.lower() != lowered]
        request.headers.append((name, value))

    if kind == "bearer":
        token = field_value("token")
        if token:
            only_header("authorization", f"Bearer {token}")
    elif kind in ("basic", "digest"):
        request.headers = [(k, v) for k, v in request.headers if k.lower() != "authorization"]
        make = upstream.basic_auth if kind == "basic" else upstream.digest_auth
        request.auth = make(field_value("username"), field_value("password"))
    elif kind == "apikey":
        key, value = field_value("key"), field_value("value")
        if auth.get("placement") == "query":
            request.params = [(k, v) for k, v in request.params if k != key]
            request.params.append((key, value))
        else:
            only_header(key, value)
    # oauth2 describes how exposes validate callers; it sends nothing upstream.


# --------------------------------------------------------------------------- orchestration


def _orchestrate(operation: Operation, caller: Any) -> Outcome:
    """``steps`` then ``mappings`` (§7): call and lookup steps; script steps answer 501."""
    results: dict[str, Any] = {}
    context: CapabilityContext = operation.context
    results_layer = mapping_layer(results)
    last = None
    for step in operation.steps or []:
        if not isinstance(step, dict):
            continue
        name = str(step.get("name"))
        kind = step.get("type") or ("call" if "call" in step else "lookup")
        if kind == "call":
            target = context.operation(str(step.get("call")))
            if target is None:
                raise StepNotSupported(
                    f"step {name!r} calls {step.get('call')!r}, which is not served"
                )
            withs = evaluate_with(step.get("with"), operation, caller, (results_layer,))
            request = build_request(
                target, withs, caller, context.binds, extra_layers=(results_layer,)
            )
            response = _client().send(request)
            if not 200 <= response.status < 300:
                return Outcome.as_it_came(response)
            results[name] = _project(
                mapping.decode(response.content, target.output_raw_format), target
            )
        elif kind == "lookup":
            results[name] = _lookup(step, results)
        else:
            raise StepNotSupported(
                f"step {name!r} is a {step.get('language') or kind} {kind} step; "
                "the registry stores script steps but does not run them"
            )
        last = name
    if operation.mappings:
        data: Any = {}
        for item in operation.mappings:
            if isinstance(item, dict) and item.get("targetName"):
                _set_dotted(
                    data, str(item["targetName"]), mapping.select(str(item.get("value")), results)
                )
    elif operation.output_parameters and any(
        isinstance(p, dict) and ("mapping" in p or "value" in p)
        for p in operation.output_parameters
    ):
        data = mapping.map_outputs(operation.output_parameters, results)
    else:
        data = results.get(last) if last else None
    return Outcome(200, JSON, data=data)


def _project(data: Any, target: UpstreamOperation) -> Any:
    """A step's output, with the consumed operation's named outputs added to each element.

    ``outputParameters: [{name: imo-number, value: $.imo_number}]`` on a consumed
    operation makes ``imo-number`` available to later steps (a lookup can match on it).
    """
    if not target.outputs:
        return data
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict):
            for name, path in target.outputs:
                item.setdefault(name, mapping.select(path, item))
    return data


def _lookup(step: dict[str, Any], results: dict[str, Any]) -> Any:
    """A lookup step: the index entries whose ``match`` equals the looked-up value(s).

    One value gives one entry (or null); a list of values gives a list.
    """
    index = results.get(str(step.get("index"))) or []
    if isinstance(index, dict):
        index = next((v for v in index.values() if isinstance(v, list)), [index])
    wanted = mapping.select(str(step.get("lookupValue")), results)
    single = not isinstance(wanted, list)
    if single:
        wanted = [wanted]
    key = step.get("match")
    fields = [
        f.get("name") if isinstance(f, dict) else f for f in step.get("outputParameters") or []
    ]
    found = []
    for value in wanted:
        for item in index:
            if isinstance(item, dict) and item.get(key) == value:
                found.append({f: item.get(f) for f in fields} if fields else item)
                break
    if single:
        return found[0] if found else None
    return found


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[last] = value


# --------------------------------------------------------------------------- forward


def forward(route: Route, remainder: str, method: str, caller: RestCaller, query: str) -> Outcome:
    """Proxy the rest of the path to the forward's consumes, as it is (§7).

    The caller's trusted headers pass, except the one the consumes' authentication
    sends: the registry's credential replaces it (and a query API key the caller sent
    under the same name is dropped), so the upstream sees exactly one.
    """
    if route.forward is None or route.forward_context is None:
        raise UpstreamNotConfigured(f"the forward target of {route.path!r} is not configured")
    target = route.forward.upstream
    binds = route.forward_context.binds
    base = resolve_base_uri(target, binds)
    segments = remainder.strip("/").split("/") if remainder.strip("/") else []
    if any(segment in (".", "..") for segment in segments):
        raise InvalidParameter("a forwarded path may not contain '.' or '..' segments")
    # Each segment re-encoded: a decoded '?' or '#' stays part of the path.
    url = base + "/" + "/".join(quote(segment, safe="") for segment in segments)
    auth = target.authentication or {}
    if query and auth.get("type") == "apikey" and auth.get("placement") == "query":
        key = render(str(auth.get("key") or ""), (), binds)
        query = "&".join(
            pair for pair in query.split("&") if unquote_plus(pair.partition("=")[0]) != key
        )
    if query:
        url += "?" + query
    request = upstream.Request(method=method, url=url)
    trusted = {h.lower() for h in route.forward.trusted_headers} - HOP_BY_HOP
    trusted.discard(_credential_header(target))
    request.headers = []
    for name, value in caller.forwardable_headers().items():
        if name.lower() in trusted:
            _check_header(name, value)
            request.headers.append((name, value))
    for param in target.parameters:
        if param.location == "header" and param.value is not None:
            text = _text(render_value(param.value, (caller.lookup,), binds))
            _check_header(param.name, text)
            request.headers.append((param.name, text))
    if caller.raw_body:
        request.content = caller.raw_body
        if caller.content_type:
            request.headers.append(("content-type", caller.content_type))
    apply_authentication(request, target, binds)
    if request.params:
        # A query API key joins the caller's query as it was sent (httpx would replace a
        # URL's query with ``params``, losing the caller's).
        request.url += ("&" if "?" in request.url else "?") + urlencode(request.params)
        request.params = []
    return Outcome.as_it_came(_client().send(request))
