"""Tool definitions from catalog operations (RUNTIME-CONTRACT §6), as plain data.

``input_schema`` (the JSON Schema of a tool's arguments) lives in ``runtime.inputs``,
where the catalog surface reads it too; this module publishes it, gives the tool's
annotations (the hints) and checks arguments against the schema before any upstream
call.
"""

# No ``from __future__ import annotations`` here, unlike every other module: the name
# would be this module's annotations() (MCP's word for the hints), which shadows it.
# Every annotation below names something imported or built in, so it evaluates at import.

import functools
import json
from typing import Any

import jsonschema_rs

from capabilities_app.runtime.catalog import Hints
from capabilities_app.runtime.inputs import JSON_TYPES, input_schema

__all__ = ["JSON_TYPES", "annotations", "argument_errors", "input_schema"]


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
