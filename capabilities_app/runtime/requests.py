"""The parts of an upstream request (§4): where each value goes, and how it is checked.

``plans.build_request`` builds the request of a consumed operation from its plan
(compiled once per catalog version) with these parts: :func:`place` puts one
parameter where it goes, :func:`segment` encodes a path value, :func:`set_body`
builds the body, :func:`resolve_base_uri` and :func:`apply_authentication` render the
consumes' base URI and credential over the bind variables; every check happens before
any I/O (a bad parameter: 400; a missing secret, an unconfigured upstream: 503).
``steps.forward`` uses the same parts. :func:`evaluate_with` computes ``with`` values;
:func:`client` is the process's outbound client, configured from the settings.

The trust boundary (§4, ``docs/trust-boundary.md``): ``baseUri`` and authentication
render over the bind variables alone; every template reads the binds before the
``with`` values and the caller; a caller value is data wherever it lands (one
percent-encoded path segment that is never ``.`` or ``..``, an encoded query value or
cookie, a header value without control characters, escaped for the body's format).

Must not import Django models, httpx (``upstream`` does) or the MCP SDK.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, unquote

from django.conf import settings

from capabilities_app.core.errors import (
    InvalidParameter,
    UpstreamNotConfigured,
)
from capabilities_app.runtime import upstream
from capabilities_app.runtime.callers import Caller
from capabilities_app.runtime.catalog import Operation, Upstream, UpstreamOperation
from capabilities_app.runtime.guard import parse_networks
from capabilities_app.runtime.outcome import JSON
from capabilities_app.runtime.templating import (
    MISSING,
    Binds,
    BindValue,
    render,
    render_body,
    render_value,
)

__all__ = [
    "HEADER_UNSAFE",
    "Placed",
    "apply_authentication",
    "as_text",
    "check_header",
    "client",
    "credential_header",
    "evaluate_with",
    "place",
    "put_credential_header",
    "resolve_base_uri",
    "segment",
    "set_body",
    "upstream_settings",
]

# A baseUri placeholder: {{VAR}}, {{namespace.VAR}} or a single-brace {VAR}.
_BASE_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}|\{\s*([^{}]*?)\s*\}")
_USABLE_BASE = re.compile(r"^https?://[^/{}\s]+")
# What a header value may hold: printable ASCII and tab. CR/LF would start a header of
# the caller's choosing; other control characters and non-ASCII text cannot be sent.
HEADER_UNSAFE = re.compile(r"[^\t\x20-\x7e]")
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


def _prefixes(operation: Operation) -> tuple[str, ...]:
    return ("rest", "tools", operation.namespace)


def evaluate_with(
    values: Any,
    operation: Operation,
    caller: Caller,
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


def client() -> upstream.Client:
    return upstream.get_client(upstream_settings)


def upstream_settings() -> upstream.Settings:
    return upstream.Settings(
        timeout=settings.REGISTRY_UPSTREAM_TIMEOUT,
        connect_timeout=settings.REGISTRY_UPSTREAM_CONNECT_TIMEOUT,
        allowed_networks=parse_networks(settings.REGISTRY_UPSTREAM_ALLOWED_NETWORKS),
        max_bytes=settings.REGISTRY_MAX_UPSTREAM_BYTES,
    )


# --------------------------------------------------------------------------- requests


class Placed:
    """Where a call's parameter values go, as they are placed (``plans``)."""

    __slots__ = ("body", "cookies", "headers", "query", "url_values")

    def __init__(self) -> None:
        self.url_values: dict[str, Any] = {}
        self.query: list[tuple[str, str]] = []
        self.headers: list[tuple[str, str]] = []
        self.cookies: list[tuple[str, str]] = []
        self.body: dict[str, Any] = {}


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def check_header(name: str, value: str) -> None:
    """A header value the caller may have written: 400 on CR, LF or what cannot be sent.

    The detail names the parameter, never the value (it may be an injection attempt,
    or someone's credential).
    """
    if HEADER_UNSAFE.search(value):
        raise InvalidParameter(
            f"header parameter {name!r} has a value that cannot be sent: it contains a line "
            "break, another control character or non-ASCII text"
        )


def place(placed: Placed, location: str, name: str, value: Any, *, trusted: bool = False) -> None:
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


def segment(name: str, value: Any) -> str:
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


def set_body(
    request: upstream.Request,
    target: UpstreamOperation,
    body: dict[str, Any],
    layers: tuple,
    binds: Binds,
) -> None:
    """The body: an operation's ``body`` (escaped for its format), else ``body``, the
    body parameters placed."""
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
    if not body:
        return
    if len(body) == 1:
        (value,) = body.values()
    else:
        value = body
    if isinstance(value, str):
        request.content = value.encode()
        request.headers.append(("content-type", "text/plain; charset=utf-8"))
    else:
        request.content = json.dumps(value, ensure_ascii=False).encode()
        request.headers.append(("content-type", JSON))


def credential_header(target: Upstream) -> str | None:
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


def put_credential_header(
    request: upstream.Request, name: str, value: str, *, kind: str, namespace: str
) -> None:
    """Set a credential header, replacing any of that name; a value that cannot be a
    header line (a bind variable's line break, control character, non-ASCII text) is the
    consumes' misconfiguration, never sent."""
    if HEADER_UNSAFE.search(value) or HEADER_UNSAFE.search(name):
        raise UpstreamNotConfigured(
            f"the {kind} credential of consumes {namespace!r} cannot be sent as a "
            "header (a line break, a control character or non-ASCII text); "
            "check the bind variable's value"
        )
    lowered = name.lower()
    request.headers = [(k, v) for k, v in request.headers if k.lower() != lowered]
    request.headers.append((name, value))


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
        return render(value, (), binds) if isinstance(value, str) else as_text(value or "")

    def only_header(name: str, value: str) -> None:
        put_credential_header(request, name, value, kind=str(kind), namespace=target.namespace)

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
