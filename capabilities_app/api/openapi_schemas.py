"""The parts of a generated OpenAPI document (``api.openapi``): schemas and responses.

JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of parameters, request bodies and the
success answer (from the output parameters, as ``runtime.mapping`` shapes the answer),
the registry's problem+json errors (``core.errors``, docs/rest-surface.md), the async
answer (``Prefer: respond-async``) and the security schemes (docs/access.md).

Pure data and functions over the catalog's types: must not import models, httpx, DRF
or the MCP SDK, and never reads a bind value.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from capabilities_app.runtime import mapping
from capabilities_app.runtime.catalog import InputParam, Operation, Param

__all__ = [
    "CLIENT_KEY_BEARER",
    "CLIENT_KEY_HEADER",
    "COMMON_PARAMETERS",
    "PROBLEM",
    "access_token",
    "declared_parameter",
    "error_responses",
    "expose_scheme",
    "forward_responses",
    "output_schema",
    "parameter_schema",
    "path_schema",
    "request_body",
    "responses",
]

_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_SIMPLE_PATH = re.compile(r"\$(\.[A-Za-z_][A-Za-z0-9_-]*)*\.?")

PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document with the registry's stable `code`.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable; docs/rest-surface.md"},
        "instance": {"type": "string"},
        "retry_after": {"type": "integer"},
    },
    "required": ["type", "title", "status", "detail", "code"],
}

# (status, description, headers): what the registry itself answers on an exposed route.
_ERRORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "400",
        "A parameter or the body is refused: `invalid_parameter`, `missing_parameter`, "
        "`invalid_body`",
        (),
    ),
    (
        "401",
        "No credential, or one the registry does not accept: `not_authenticated`, "
        "`invalid_client_key`, `invalid_token`",
        ("WWW-Authenticate",),
    ),
    (
        "403",
        "Not granted (`not_granted`, `insufficient_scope`), or an upstream address the "
        "registry does not call (`upstream_forbidden`)",
        (),
    ),
    ("404", "A path value that does not fit its segment: `route_not_found`", ()),
    ("411", "A chunked body this server cannot read: `length_required`", ()),
    ("413", "The body is over `REGISTRY_MAX_BODY_BYTES`: `body_too_large`", ()),
    (
        "422",
        "An `Idempotency-Key` already used for another request (`Prefer: respond-async`): "
        "`idempotency_key_reused`",
        (),
    ),
    ("429", "Over the client's rate limit: `rate_limited`", ("Retry-After",)),
    (
        "502",
        "The upstream could not be used: `upstream_unreachable`, `upstream_invalid`, "
        "`upstream_too_large`, `upstream_too_complex`",
        (),
    ),
    (
        "503",
        "Not servable now: `upstream_not_configured`, `secret_missing`, "
        "`operation_not_served`, `database_unavailable`, `jwks_unavailable`, "
        "`queue_unavailable`",
        ("Retry-After",),
    ),
    ("504", "The upstream did not answer in time: `upstream_timeout`", ()),
)
_STEP_ERROR = ("501", "A step the registry does not run: `step_not_supported`", ())
_UPSTREAM_TOO = "; or the upstream's own answer with this status, as it came"


def error_responses() -> dict[str, Any]:
    """``components.responses``: one per status the registry answers itself."""
    found = {}
    for status, description, headers in (*_ERRORS, _STEP_ERROR):
        response: dict[str, Any] = {
            "description": description + _UPSTREAM_TOO,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
                "*/*": {"schema": {}},
            },
        }
        if headers:
            response["headers"] = {name: {"schema": {"type": "string"}} for name in headers}
        found[f"Error{status}"] = response
    return found


COMMON_PARAMETERS: dict[str, Any] = {
    "Prefer": {
        "name": "Prefer",
        "in": "header",
        "required": False,
        "description": (
            "`respond-async` runs the call as a job: 202 and `Location: /api/jobs/<id>` "
            "(docs/jobs.md)"
        ),
        "schema": {"type": "string"},
        "example": "respond-async",
    },
    "Idempotency-Key": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "sent upstream as it is; an async job with the same key is one job",
        "schema": {"type": "string"},
    },
}

_JOB: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string"},
        "links": {"type": "object"},
    },
    "required": ["id", "status"],
}


def _type(name: str | None) -> dict[str, Any]:
    return {"type": name} if name in _TYPES else {}


def parameter_schema(param: InputParam | None) -> dict[str, Any]:
    """A path, query, header or cookie parameter's schema: text unless declared
    ``integer``, ``number`` or ``boolean`` (converted; 400 when it does not convert)."""
    declared = param.type if param is not None else None
    schema = _type(declared) if declared in ("integer", "number", "boolean") else {}
    schema = schema or {"type": "string"}
    if param is not None and param.pattern and schema.get("type") == "string":
        schema["pattern"] = param.pattern
    return schema


def path_schema(param: InputParam | None) -> dict[str, Any]:
    """A path variable's schema: one segment, never ``.`` or ``..`` (400: they would move
    the upstream path)."""
    schema = parameter_schema(param)
    if schema.get("type") == "string":
        schema["not"] = {"enum": [".", ".."]}
    return schema


def declared_parameter(param: InputParam, place: str) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": param.name,
        "in": place,
        "required": bool(param.required),
        "schema": parameter_schema(param),
    }
    if param.description:
        parameter["description"] = param.description
    if param.value is not None and not isinstance(param.value, dict | list):
        parameter["schema"]["default"] = param.value
    return parameter


def _body_schema(param: InputParam) -> dict[str, Any]:
    schema = _type(param.type)
    if param.description:
        schema["description"] = param.description
    return schema


def request_body(
    declared: list[InputParam],
    *,
    reads_body: bool,
    consumed: Param | None,
    body_fields: list[str],
    required: bool,
) -> dict[str, Any] | None:
    """The request body: declared body parameters (one: the whole body; several: fields
    of a JSON object), the whole body an operation reads as ``body``, or fields it
    reads without declaring them."""
    schema: dict[str, Any]
    if len(declared) == 1 and not body_fields:
        schema = _body_schema(declared[0])
    elif declared or body_fields:
        properties = {p.name: _body_schema(p) for p in declared}
        properties.update({name: {} for name in body_fields if name not in properties})
        schema = {"type": "object", "properties": properties}
        names = [p.name for p in declared if p.required]
        if names:
            schema["required"] = names
    elif reads_body:
        # The consumed body parameter it feeds says what it is (a JSON null is no body).
        schema = _type(consumed.type) if consumed is not None else {}
        schema["description"] = (consumed.description if consumed else None) or (
            "the request body, passed to the call as `body`"
        )
    else:
        return None
    return {"required": required, "content": {"application/json": {"schema": schema}}}


# --------------------------------------------------------------------------- answers


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str) and kind != "null":
        schema = {**schema, "type": [kind, "null"]}
    return schema


def _output(param: Any) -> dict[str, Any]:
    """The schema of what ``mapping._map`` makes of one output parameter."""
    if not isinstance(param, dict):
        return {}
    if "const" in param:
        return {"const": param["const"]}
    if "value" in param and "mapping" not in param:
        value = param["value"]
        if isinstance(value, str) and value.startswith("$"):
            return {}
        return _type(param.get("type")) if isinstance(value, str) else {"const": value}
    kind = param.get("type")
    path = param.get("mapping")
    singular = path is None or (isinstance(path, str) and _SIMPLE_PATH.fullmatch(path))
    if kind == "object" and isinstance(param.get("properties"), dict):
        properties = {key: _output(sub) for key, sub in param["properties"].items()}
        return {
            "type": ["object", "null"],
            "properties": properties,
            "required": list(properties),
        }
    if kind == "array":
        spec = param.get("items")
        items: dict[str, Any] = {}
        if isinstance(spec, dict) and ("properties" in spec or "mapping" in spec):
            items = _output(spec)
        elif isinstance(spec, list):
            names = [f.get("name") for f in spec if isinstance(f, dict) and f.get("name")]
            items = {"properties": {n: {} for n in names}}
        return {"type": "array", "items": items} if items else {"type": "array"}
    if not singular:
        return {}
    return _nullable(_type(kind))


def output_schema(outputs: list[Any]) -> dict[str, Any]:
    """The schema of the mapped answer (``mapping.map_outputs``)."""
    if len(outputs) == 1 and isinstance(outputs[0], dict) and not outputs[0].get("name"):
        return _output(outputs[0])
    named = {p["name"]: _output(p) for p in outputs if isinstance(p, dict) and p.get("name")}
    return {"type": "object", "properties": named, "required": list(named)}


def _success(operation: Operation) -> tuple[str, dict[str, Any]]:
    target = operation
    while target.ref is not None and not target.output_parameters:
        target = target.ref
    outputs = target.output_parameters or []
    call = target.call
    if not (call or target.steps or outputs):
        return "204", {"description": "Nothing to run: no content"}
    if target.steps:
        schema = output_schema(outputs) if outputs else {}
        return "2XX", _json("The result of the steps", schema)
    if call is None:
        return "200", _json("The declared values (a mock)", output_schema(outputs))
    raw = (call.output_raw_format or "").lower() or None
    if not outputs:
        return "2XX", {
            "description": "The upstream's answer as it came (status, body, content type)",
            "content": {"*/*": {"schema": {}}},
        }
    if mapping.is_pass_through(outputs) and raw in mapping.JSON_FORMATS:
        schema = _type(outputs[0].get("type"))
        return "2XX", _json("The upstream's JSON answer as it came", schema)
    return "2XX", _json(
        "The upstream's answer, mapped by the output parameters", output_schema(outputs)
    )


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def responses(operation: Operation) -> dict[str, Any]:
    status, success = _success(operation)
    found: dict[str, Any] = {status: success}
    found["202"] = {
        "description": "Accepted as a job (`Prefer: respond-async`); read it at `Location`",
        "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
        "content": {"application/json": {"schema": _JOB}},
    }
    errors = [status for status, _, _ in _ERRORS]
    if operation.steps:
        errors.append(_STEP_ERROR[0])
    for code in sorted(errors):
        found[code] = {"$ref": f"#/components/responses/Error{code}"}
    found["default"] = {
        "description": "The upstream's error answer, as it came (status, body, content type)",
        "content": {"*/*": {"schema": {}}},
    }
    return found


def forward_responses() -> dict[str, Any]:
    found: dict[str, Any] = {
        code: {"$ref": f"#/components/responses/Error{code}"}
        for code in ("401", "403", "413", "429", "502", "503", "504")
    }
    found["default"] = {
        "description": "The upstream's answer, as it came (status, body, content type)",
        "content": {"*/*": {"schema": {}}},
    }
    return found


# --------------------------------------------------------------------------- security

CLIENT_KEY_HEADER: dict[str, Any] = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": "A client key of the registry (`crk_…`; docs/access.md)",
}
CLIENT_KEY_BEARER: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "A client key of the registry (`crk_…`) as a bearer token (docs/access.md)",
}


def access_token() -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            f"An access token issued by {settings.REGISTRY_OAUTH_ISSUER} whose audience is "
            "this expose's URL (the server below); scopes `capability:<name>` or "
            "`capability:<name>:<operation>` (docs/access.md)"
        ),
    }


def expose_scheme(own: dict[str, Any]) -> dict[str, Any]:
    """The expose's own ``authentication`` as a security scheme (never its value)."""
    kind = own.get("type")
    if kind == "bearer":
        return {"type": "http", "scheme": "bearer", "description": "the expose's own token"}
    if kind == "basic":
        return {"type": "http", "scheme": "basic", "description": "the expose's own credentials"}
    if kind == "apikey":
        placement = own.get("placement") or "header"
        return {
            "type": "apiKey",
            "in": "query" if placement == "query" else "header",
            "name": str(own.get("key") or ""),
            "description": "the expose's own API key",
        }
    return {
        "type": "http",
        "scheme": str(kind or "unknown"),
        "description": (
            f"the expose asks for {kind!r} authentication, which the registry does not "
            "verify: it refuses every caller"
        ),
    }
