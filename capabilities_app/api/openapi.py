"""The OpenAPI 3.1 document of a REST expose, generated from the catalog (issue 13 point 2).

:func:`document` describes one REST namespace as the registry serves it: every exposed
path and method, the caller parameters each operation reads (declared ones with their
``in``, type, requirement and description; path variables; names it reads without
declaring them), request bodies, the success answer (its schema from the output
parameters, ``api.openapi_schemas``), the registry's problem+json errors, the upstream's
errors as they came, and the security the caller needs (a client key, an access token,
the expose's own ``authentication``). Servers: ``store.served.rest_base_url``.

Documents are kept on the catalog object (``Catalog.derived``), keyed by the namespace
and the settings they read: computed once per catalog, rebuilt when the catalog is.
A document never holds a secret: bind values are never read (an ``apikey`` name that is
a template is shown as written).

Imports the catalog, the access settings and the served URLs; must not import models,
httpx, DRF views or the MCP SDK.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml
from django.conf import settings

from capabilities_app.access import oauth
from capabilities_app.api import openapi_schemas as schemas
from capabilities_app.runtime.callers import CREDENTIAL_HEADERS, normalise
from capabilities_app.runtime.catalog import Catalog, InputParam, Operation, Param, Route
from capabilities_app.runtime.routing import REST_OF_PATH
from capabilities_app.store import served

__all__ = ["DOCUMENT_PATHS", "Rendered", "build", "document", "hidden_by_route", "rendered"]

OPENAPI_VERSION = "3.1.0"
# The registry's own paths under /rest/<namespace>/: what a capability's route there hides.
DOCUMENT_PATHS = ("openapi.json", "openapi.yaml", "docs")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_FORWARD_METHODS = ("get", "put", "post", "delete", "patch")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_PARAMETER_PLACES = ("path", "query", "header", "cookie")
# Header parameters OpenAPI ignores, and the caller's credentials (never parameters).
_NOT_HEADER_PARAMETERS = CREDENTIAL_HEADERS | {"accept", "content-type", "x-api-key"}


@dataclass(frozen=True)
class Rendered:
    """One expose's document, and its JSON and YAML bytes."""

    document: dict[str, Any]
    json: bytes
    yaml: bytes


def hidden_by_route(catalog: Catalog, namespace: str, name: str) -> bool:
    """Whether a route of the expose itself serves ``/rest/<namespace>/<name>`` (any
    method, a forward included): the capability's own route wins over the generated
    document there."""
    return any(route.regex.fullmatch("/" + name) for route in catalog.routes.get(namespace, ()))


def _settings_key() -> tuple[Any, ...]:
    return (
        settings.REGISTRY_PUBLIC_URL,
        settings.REGISTRY_REQUIRE_CLIENT_KEY,
        settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH,
        oauth.configured(),
        settings.REGISTRY_OAUTH_ISSUER,
    )


def rendered(catalog: Catalog, namespace: str) -> Rendered | None:
    """The document of ``namespace`` with its bytes, once per catalog; None: not served."""
    if namespace not in catalog.routes:
        return None
    key = ("openapi", namespace, _settings_key())
    found = catalog.derived.get(key)
    if found is None:
        doc = build(catalog, namespace)
        found = Rendered(
            doc,
            json.dumps(doc, ensure_ascii=False, indent=2).encode(),
            yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100).encode(),
        )
        catalog.derived[key] = found
    return found


def document(catalog: Catalog, namespace: str) -> dict[str, Any] | None:
    """The OpenAPI document of the REST expose ``namespace``; None when none is served."""
    found = rendered(catalog, namespace)
    return found.document if found is not None else None


# --------------------------------------------------------------------------- the document


def build(catalog: Catalog, namespace: str) -> dict[str, Any]:
    """The document, built now (:func:`rendered` keeps it)."""
    routes = catalog.routes.get(namespace, [])
    context = next((r.context for r in routes if r.context is not None), None)
    capability = catalog.rest_capabilities.get(namespace, "")
    security = _Security()
    paths: dict[str, Any] = {}
    operation_ids: set[str] = set()
    for route in routes:
        item = paths.setdefault(_openapi_path(route), {})
        if route.description:
            item.setdefault("description", route.description)
        requirement = security.requirement(route)
        methods = {m.lower(): op for m, op in route.methods.items() if m.lower() in _METHODS}
        for method, operation in methods.items():
            if method in item:
                continue
            entry = _operation(route, method, operation, operation_ids)
            entry["security"] = requirement
            item[method] = entry
        if route.forward is not None:
            for method in _FORWARD_METHODS:
                if method not in item:
                    item[method] = _forward(route, method, operation_ids)
                    item[method]["security"] = requirement
    label = (context.label if context else None) or capability or namespace
    info: dict[str, Any] = {
        "title": f"{label} ({namespace})",
        "version": (context.modified if context else None) or "unversioned",
        "description": _info_description(context.description if context else None, namespace),
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "servers": [{"url": served.rest_base_url(namespace), "description": "this registry"}],
        "paths": paths,
        "components": {
            "schemas": {"Problem": schemas.PROBLEM},
            "responses": schemas.error_responses(),
            "parameters": schemas.COMMON_PARAMETERS,
            "securitySchemes": security.schemes,
        },
        "x-registry-capability": capability,
        "x-registry-catalog-version": catalog.version,
    }


def _info_description(description: str | None, namespace: str) -> str:
    text = (description or "").strip()
    note = (
        f"Generated by the registry from the REST expose `{namespace}` as it serves it. "
        "Errors of the registry are `application/problem+json` with a stable `code`; "
        "an upstream's own error answers come back as they came."
    )
    return f"{text}\n\n{note}" if text else note


def _openapi_path(route: Route) -> str:
    """The route's path with ``{x}`` variables (``{{x}}`` read as ``{x}``)."""
    path = "/" + route.path.strip().strip("/")
    template = re.sub(r"\{\{?\s*([^{}]+?)\s*\}?\}", lambda m: "{" + m.group(1) + "}", path)
    if route.forward is not None and REST_OF_PATH in route.variables:
        template = template.rstrip("/") + "/{" + REST_OF_PATH + "}"
        if template.startswith("//"):
            template = template[1:]
    return template


def _unique_id(wanted: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", wanted).strip("-") or "operation"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _operation(route: Route, method: str, operation: Operation, taken: set[str]) -> dict[str, Any]:
    parameters, body = _inputs(route, method.upper(), operation)
    entry: dict[str, Any] = {
        "operationId": _unique_id(operation.name or f"{method}{route.path}", taken),
    }
    summary = operation.label or operation.name
    if summary:
        entry["summary"] = summary
    if operation.description:
        entry["description"] = operation.description
    entry["parameters"] = parameters
    if body is not None:
        entry["requestBody"] = body
    entry["responses"] = schemas.responses(operation)
    if operation.name:
        entry["x-registry-operation"] = operation.name
    return entry


def _forward(route: Route, method: str, taken: set[str]) -> dict[str, Any]:
    target = route.forward.upstream.namespace if route.forward else ""
    parameters = [_path_parameter(v, None) for v in route.variables]
    entry: dict[str, Any] = {
        "operationId": _unique_id(f"forward-{method}{route.path}", taken),
        "summary": f"forwarded to {target}",
        "description": (
            f"Every request under this path is forwarded to the consumes `{target}` "
            "as it came (only its trusted headers), and its answer comes back as it came."
        ),
        "parameters": parameters,
        "responses": schemas.forward_responses(),
    }
    if method in ("post", "put", "patch"):
        entry["requestBody"] = {"required": False, "content": {"*/*": {}}}
    return entry


def _path_parameter(variable: str, declared: InputParam | None) -> dict[str, Any]:
    if variable == REST_OF_PATH:
        return {
            "name": REST_OF_PATH,
            "in": "path",
            "required": True,
            "description": "the rest of the path, forwarded as it is",
            "schema": {"type": "string"},
        }
    parameter: dict[str, Any] = {
        "name": variable,
        "in": "path",
        "required": True,
        "schema": schemas.path_schema(declared),
    }
    if declared is not None and declared.description:
        parameter["description"] = declared.description
    return parameter


def _inputs(
    route: Route, method: str, operation: Operation
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The operation's parameters and request body, as the REST caller reads them."""
    declared = {p.name: p for p in operation.parameters}
    by_place = {
        place: [p for p in operation.parameters if (p.location or "").lower() == place]
        for place in (*_PARAMETER_PLACES, "body")
    }
    variables = [v for v in route.variables if v != REST_OF_PATH]
    normal_variables = {normalise(v) for v in variables}
    parameters: list[dict[str, Any]] = []
    for variable in variables:
        found = next(
            (p for p in by_place["path"] if normalise(p.name) == normalise(variable)), None
        )
        parameters.append(_path_parameter(variable, found))
    seen = {(v, "path") for v in variables}
    for place in ("query", "header", "cookie"):
        for param in by_place[place]:
            if place == "header" and param.name.lower() in _NOT_HEADER_PARAMETERS:
                continue
            key = (param.name.lower() if place == "header" else param.name, place)
            if key in seen:
                continue
            seen.add(key)
            parameters.append(schemas.declared_parameter(param, place))
    # Names the operation reads without declaring them: looked up in the path, the query,
    # the headers, then a JSON body's fields (RUNTIME-CONTRACT §3); offered as query.
    declared_normal = {normalise(n) for n in declared}
    # A consumed parameter a ``with`` entry feeds is read from the caller only as a
    # fallback: the entry's own reference is the parameter the caller gives.
    fed = operation.with_values if isinstance(operation.with_values, dict) else {}
    undeclared = [
        name
        for name in operation.reads
        if name != "body"
        and normalise(name) not in normal_variables
        and normalise(name) not in declared_normal
        and name not in declared
        and name not in fed
    ]
    for name in undeclared:
        if (name, "query") in seen:
            continue
        seen.add((name, "query"))
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": (
                    "read by the operation without a declaration: from the query, "
                    "else a header or a field of a JSON body of the same name"
                ),
                "schema": {"type": "string"},
            }
        )
    parameters.extend(
        {"$ref": f"#/components/parameters/{name}"}
        for name in schemas.COMMON_PARAMETERS
        if (name.lower(), "header") not in {(k.lower(), p) for k, p in seen}
    )
    reads_body = "body" in operation.reads and "body" not in declared
    body = schemas.request_body(
        by_place["body"],
        reads_body=reads_body,
        consumed=_consumed_body(operation),
        body_fields=undeclared if method in _BODY_METHODS else [],
        required=_body_required(operation),
    )
    return parameters, body


def _consumed_body(operation: Operation) -> Param | None:
    """The consumed body parameter the operation's ``body`` feeds, if it calls one."""
    call = operation.call
    if call is None:
        return None
    return next((p for p in call.parameters if p.location == "body" and p.value is None), None)


def _body_required(operation: Operation) -> bool:
    """A body the call cannot go without: a declared body parameter or a consumed one
    that is required and has no value of its own."""
    if any((p.location or "") == "body" and p.required for p in operation.parameters):
        return True
    call = operation.call
    return call is not None and any(
        p.location == "body" and p.required and p.value is None for p in call.parameters
    )


class _Security:
    """The security schemes of a namespace and each route's requirement."""

    def __init__(self) -> None:
        self.schemes: dict[str, Any] = {}

    def add(self, name: str, scheme: dict[str, Any]) -> str:
        self.schemes.setdefault(name, scheme)
        return name

    def requirement(self, route: Route) -> list[dict[str, list[str]]]:
        own = route.authentication
        keys_too = not own or settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH
        registry = self._registry(own) if keys_too else []
        if own:
            own_name = self.add("exposeAuthentication", schemas.expose_scheme(own))
            if not registry:
                return [{own_name: []}]
            both: list[dict[str, list[str]]] = [{own_name: [], name: []} for name in registry]
            if not settings.REGISTRY_REQUIRE_CLIENT_KEY:
                both.append({own_name: []})
            return both
        alternatives: list[dict[str, list[str]]] = [{name: []} for name in registry]
        if not settings.REGISTRY_REQUIRE_CLIENT_KEY:
            alternatives.insert(0, {})  # no credential is needed (one sent is checked)
        return alternatives

    def _registry(self, own: dict[str, Any] | None) -> list[str]:
        """Where the registry's credential may go next to the expose's own (admission)."""
        kind = (own or {}).get("type")
        own_header = ""
        if kind == "apikey" and (own or {}).get("placement", "header") == "header":
            own_header = str((own or {}).get("key") or "").lower()
        names = []
        if own_header != "x-api-key":
            names.append(self.add("clientKeyHeader", schemas.CLIENT_KEY_HEADER))
        if kind not in ("bearer", "basic"):
            names.append(self.add("clientKeyBearer", schemas.CLIENT_KEY_BEARER))
            if oauth.configured():
                names.append(self.add("accessToken", schemas.access_token()))
        return names
