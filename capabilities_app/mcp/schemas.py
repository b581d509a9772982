"""Tool definitions from catalog operations (RUNTIME-CONTRACT §6), as plain data.

``input_schema`` is the tool's declared ``inputParameters`` (``required`` defaults to
true); without them it is derived from what the call needs from its caller: each
``with`` reference (``tools.x``, ``<namespace>.x``) becomes a property with the type,
description and required flag of the consumed parameter it feeds, ``body`` is an
object, and consumed parameters the caller must supply directly (path variables,
required parameters no ``with`` provides) are added. Arguments are checked against
the same schema before any upstream call.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema_rs

from ..catalog import Hints, Operation
from ..templating import tag_names

JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})


def _property(type_: str | None, description: str | None) -> dict[str, Any]:
    prop: dict[str, Any] = {}
    if type_ in JSON_TYPES:
        prop["type"] = type_
    if description:
        prop["description"] = description
    return prop


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(dict.fromkeys(required))
    return schema


def input_schema(operation: Operation) -> dict[str, Any]:
    """The JSON Schema of the tool's arguments."""
    declared = operation.parameters or (operation.ref.parameters if operation.ref else ())
    if declared:
        return _schema(
            {p.name: _property(p.type, p.description) for p in declared},
            [p.name for p in declared if p.required is not False],
        )
    return _derived(operation)


def _derived(operation: Operation) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    target = operation.call
    consumed = {p.name: p for p in target.parameters} if target else {}
    prefixes = ("rest", "tools", operation.namespace)
    withs = operation.with_values if isinstance(operation.with_values, dict) else {}
    binds = operation.context.binds
    for key, value in withs.items():
        if not isinstance(value, str):
            continue
        prefix, dot, name = value.partition(".")
        if dot and prefix in prefixes and name:
            param = consumed.get(key)
            if name == "body":
                properties["body"] = {"type": "object"}
            else:
                properties[name] = _property(
                    param.type if param else None, param.description if param else None
                )
            if param is not None and (param.required or param.location == "path"):
                required.append(name)
        elif "{{" in value:
            for token in tag_names(value):
                if "." not in token and not binds.declares(token):
                    properties.setdefault(token, {"type": "string"})
    if target is not None:
        for param in target.parameters:
            if param.value is not None or param.name in withs:
                continue
            properties.setdefault(param.name, _property(param.type, param.description))
            if param.required or param.location == "path":
                required.append(param.name)
        for variable in target.path.variables:
            if variable not in withs and variable not in properties:
                properties[variable] = {"type": "string"}
                required.append(variable)
    return _schema(properties, required)


def annotations(hints: Hints) -> dict[str, bool]:
    """MCP annotations exactly as the hints give them; a hint not given is left out."""
    values = {
        "readOnlyHint": hints.read_only,
        "destructiveHint": hints.destructive,
        "idempotentHint": hints.idempotent,
        "openWorldHint": hints.open_world,
    }
    return {k: v for k, v in values.items() if v is not None}


@functools.lru_cache(maxsize=8192)
def _validator(schema_json: str) -> Any:
    return jsonschema_rs.validator_for(json.loads(schema_json))


def argument_errors(schema: Any, arguments: dict[str, Any]) -> list[str]:
    """What is wrong with ``arguments`` under ``schema`` (empty when they are valid)."""
    validator = _validator(json.dumps(dict(schema), sort_keys=True))
    errors = []
    for error in validator.iter_errors(arguments):
        where = "/".join(str(p) for p in error.instance_path)
        errors.append(f"{where}: {error.message}" if where else error.message)
    return errors
