"""The JSON Schema of what an operation takes from its caller (RUNTIME-CONTRACT §6), as
plain data: the MCP surface publishes it as a tool's ``inputSchema`` and checks arguments
against it; the catalog shows it and derives a REST operation's parameters from it.

``input_schema`` is the operation's declared ``inputParameters`` (``required`` defaults to
true); without them it is derived from what the call needs from its caller: each
``with`` reference (``tools.x``, ``<namespace>.x``) becomes a property with the type,
description and required flag of the consumed parameter it feeds, ``body`` is an
object, and consumed parameters the caller must supply directly (path variables,
required parameters no ``with`` provides, names a parameter value or body template
reads) are added. An operation that runs ``steps`` is derived from each call step the
same way, a ``ref`` one from its function, a mock from its output templates.

Every schema sets ``additionalProperties: false`` (the trust boundary, §4): an
argument the tool does not list is refused before any upstream call. The Naftiko
schema has no way for a document to say otherwise, so none does; a bind variable's
name is never an argument.

Pure: imports the runtime's catalog types and template readers; never Django models,
httpx or the MCP SDK.
"""

from __future__ import annotations

from typing import Any

from capabilities_app.runtime.catalog import Operation, UpstreamOperation
from capabilities_app.runtime.reads import template_names
from capabilities_app.runtime.templating import Binds, tag_names

__all__ = ["JSON_TYPES", "input_schema"]

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
    schema["additionalProperties"] = False
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
    _add_arguments(operation, properties, required)
    return _schema(properties, required)


def _add_arguments(
    operation: Operation, properties: dict[str, Any], required: list[str], depth: int = 0
) -> None:
    """Every argument ``operation`` reads from its caller, into ``properties``."""
    binds = operation.context.binds
    prefixes = ("rest", "tools", operation.namespace)
    if operation.ref is not None and depth < 8:  # the function runs with the same caller
        ref = operation.ref
        if ref.parameters:
            for p in ref.parameters:
                properties.setdefault(p.name, _property(p.type, p.description))
                if p.required is not False:
                    required.append(p.name)
        else:
            _add_arguments(ref, properties, required, depth + 1)
        return
    if operation.steps:
        for step in operation.steps:
            if isinstance(step, dict) and (step.get("type") or "call") == "call":
                target = operation.context.operation(str(step.get("call")))
                _add_call(target, step.get("with"), prefixes, binds, properties, required)
        return
    if operation.call is not None:
        _add_call(operation.call, operation.with_values, prefixes, binds, properties, required)
        return
    _add_template_names(operation.output_parameters, (), prefixes, binds, properties)


def _add_call(
    target: UpstreamOperation | None,
    with_values: Any,
    prefixes: tuple[str, ...],
    binds: Binds,
    properties: dict[str, Any],
    required: list[str],
) -> None:
    """The arguments of one consumed call: its ``with`` references and what it reads itself."""
    consumed = {p.name: p for p in target.parameters} if target else {}
    withs = with_values if isinstance(with_values, dict) else {}
    for key, value in withs.items():
        if not isinstance(value, str):
            continue
        prefix, dot, name = value.partition(".")
        if dot and prefix in prefixes and name:
            param = consumed.get(key)
            if name == "body":
                properties["body"] = {"type": "object"}
            else:
                properties.setdefault(
                    name,
                    _property(param.type if param else None, param.description if param else None),
                )
            if param is not None and (param.required or param.location == "path"):
                required.append(name)
        elif "{{" in value:
            for token in tag_names(value):
                if "." not in token and not binds.declares(token):
                    properties.setdefault(token, {"type": "string"})
    if target is None:
        return
    for param in target.parameters:
        if param.value is not None:
            # A template value reads names the with values or the caller give.
            _add_template_names(param.value, withs, prefixes, binds, properties)
            continue
        if param.name in withs:
            continue
        properties.setdefault(param.name, _property(param.type, param.description))
        if param.required or param.location == "path":
            required.append(param.name)
    for variable in target.path.variables:
        if variable not in withs and variable not in properties:
            properties[variable] = {"type": "string"}
            required.append(variable)
    _add_template_names(target.body, withs, prefixes, binds, properties)


def _add_template_names(
    value: Any,
    withs: Any,
    prefixes: tuple[str, ...],
    binds: Binds,
    properties: dict[str, Any],
) -> None:
    """Names the templates inside ``value`` read from the caller (any type), found as
    ``reads`` finds them for the runtime: not binds, not ``with`` keys, not prefixes."""
    names: set[str] = set()
    template_names(value, binds, names)
    for name in sorted(names):
        if name not in withs and name not in prefixes:
            properties.setdefault(name, {})
