"""The official JSON Schema of the document's version, checked unit by unit.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema_rs

from capabilities_app.core.errors import Diagnostic
from capabilities_app.store import vocabulary
from capabilities_app.store.loader import KeyPath, Source
from capabilities_app.store.specs.imports import consumes_lists

__all__ = ["SCHEMA_FINDINGS_LIMIT", "schema_diagnostics"]

SCHEMA_FINDINGS_LIMIT = 1000
_EXPOSE_DEFS = {
    "rest": "ExposesRest",
    "mcp": "ExposesMcp",
    "skill": "ExposesSkill",
    "control": "ExposesControl",
}


@functools.cache
def _schema(version: str) -> dict[str, Any]:
    schema_file = resources.files("capabilities_app") / "schemas" / f"naftiko-schema-{version}.json"
    return json.loads(schema_file.read_text(encoding="utf-8"))


@functools.cache
def _validator(version: str, definition: str | None) -> Any:
    """A validator for the whole schema, or for one of its ``$defs``.

    ``definition=None`` is the root with the consumes and exposes items left open:
    those are validated one by one against the branch their discriminator names,
    which gives the same verdict as the schema's ``oneOf`` at a fraction of the cost
    and with messages about the right branch.
    """
    schema = _schema(version)
    if definition is not None:
        return jsonschema_rs.validator_for(
            {
                "$schema": schema["$schema"],
                "$defs": schema["$defs"],
                "$ref": f"#/$defs/{definition}",
            }
        )
    root = copy.deepcopy(schema)
    root["properties"]["consumes"]["items"] = {}
    capability = root["$defs"]["Capability"]["properties"]
    capability["consumes"]["items"] = {}
    capability["exposes"]["items"] = {}
    return jsonschema_rs.validator_for(root)


def _schema_units(data: Any) -> Iterator[tuple[KeyPath, str | None, Any]]:
    """``(path, $defs name or None for the root, value)`` for each unit to validate."""
    yield (), None, data
    if not isinstance(data, dict):
        return
    for _scope, list_path, items in consumes_lists(data):
        for i, item in enumerate(items):
            is_import = isinstance(item, dict) and "import" in item
            yield (*list_path, i), "ImportedConsumesHttp" if is_import else "ConsumesHttp", item
    capability = data.get("capability")
    exposes = capability.get("exposes") if isinstance(capability, dict) else None
    for i, expose in enumerate(exposes if isinstance(exposes, list) else []):
        kind = expose.get("type") if isinstance(expose, dict) else None
        unit = _EXPOSE_DEFS.get(kind, "ExposesRest") if kind is not None else "ExposesRest"
        yield ("capability", "exposes", i), unit, expose


def _leaf_errors(error: Any) -> list[Any]:
    """The errors worth showing: inside oneOf/anyOf, those of the branch that fits best."""
    branches = [b for b in (getattr(error.kind, "context", None) or []) if b]
    if not branches:
        return [error]

    def badness(errors: list[Any]) -> tuple[int, int, int]:
        # A branch whose discriminator (``type``) does not match is the wrong branch.
        mismatched = any(
            isinstance(e.kind, _DISCRIMINATOR_KINDS)
            and e.instance_path
            and e.instance_path[-1] == "type"
            for e in errors
        )
        depth = max(len(e.instance_path) for e in errors)
        return (int(mismatched), -depth, len(errors))

    best = min(branches, key=badness)
    return [leaf for sub in best for leaf in _leaf_errors(sub)]


_DISCRIMINATOR_KINDS = (
    jsonschema_rs.ValidationErrorKind.Constant,
    jsonschema_rs.ValidationErrorKind.Enum,
)


def schema_diagnostics(source: Source, severity: str) -> list[Diagnostic]:
    """Check ``source`` against the official JSON Schema of its declared version."""
    version = str(source.data.get("naftiko")) if isinstance(source.data, dict) else ""
    if version not in vocabulary.SUPPORTED_VERSIONS:
        return []
    result: list[Diagnostic] = []
    seen: set[tuple[KeyPath, str]] = set()
    for base, definition, value in _schema_units(source.data):
        for error in _validator(version, definition).iter_errors(value):
            for leaf in _leaf_errors(error):
                path = (*base, *leaf.instance_path)
                if (path, leaf.message) in seen:
                    continue
                seen.add((path, leaf.message))
                result.append(
                    source.diagnostic(
                        severity,
                        f"schema.{leaf.kind.name}",
                        path,
                        f"not valid under the {version} schema: {leaf.message}",
                    )
                )
            if len(result) >= SCHEMA_FINDINGS_LIMIT:
                result.append(
                    source.diagnostic(
                        severity,
                        "schema.limit",
                        (),
                        f"the schema check stopped after {SCHEMA_FINDINGS_LIMIT} findings",
                    )
                )
                return result
    return result
