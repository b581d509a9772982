"""What an edit in the admin is checked against before it is saved, and on request.

- A ``with`` reference must name a parameter its tool or operation declares
  (:func:`with_reference_errors`, the same rule ``specs`` applies to documents); a
  caller's page checks its own references (:func:`caller_errors`), a page that edits
  input parameters checks the references of their owner (:func:`parameter_errors`).
- A stored capability can be validated as the document it exports, leniently and
  strictly (:func:`validate`), as the importer would read it.

The admin calls these and shows what they return; it holds no rule of its own. Must
not import httpx, the MCP SDK or a surface (``api``, ``mcp``, ``admin``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import models

from capabilities_app.core.errors import Diagnostic, SpecError
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.loader import parse_source
from capabilities_app.store.models import (
    AggregateFunction,
    CallingPart,
    Capability,
    ExposedOperation,
    ExposedResource,
    Tool,
)
from capabilities_app.store.specs import (
    dangling_message,
    dangling_references,
    parse_document,
    path_variables,
)

__all__ = [
    "ParameterOwner",
    "Validation",
    "caller_errors",
    "parameter_errors",
    "validate",
    "with_reference_errors",
]


# --------------------------------------------------------------------------- with references

# A part whose input parameters a ``with`` may name (a REST resource: its operations').
ParameterOwner = Tool | ExposedOperation | AggregateFunction | ExposedResource


def with_reference_errors(
    owner: models.Model,
    with_values: Any,
    *,
    parameter_names: list[str] | None = None,
    resource_names: list[str] | None = None,
) -> list[str]:
    """Messages for ``with`` references to parameters ``owner`` does not declare (§3).

    ``owner`` is a tool, a REST operation or an aggregate function, possibly unsaved;
    ``parameter_names`` (and, for a REST operation, ``resource_names``) replace the
    stored parameters, for a page that edits them in the same post.
    """
    if isinstance(owner, Tool):
        namespace = owner.expose.namespace if owner.expose_id else ""
        label = f"tool {owner.name!r}"
    elif isinstance(owner, AggregateFunction):
        namespace = owner.aggregate.namespace if owner.aggregate_id else ""
        label = f"function {owner.name!r}"
    elif isinstance(owner, ExposedOperation):
        resource = owner.resource if owner.resource_id else None
        namespace = (resource.expose.namespace or "") if resource else ""
        label = f"operation {owner.method} {resource.path if resource else ''}".rstrip()
    else:
        return []
    if parameter_names is None:
        parameter_names = list(owner.parameters.values_list("name", flat=True)) if owner.pk else []
    names = list(parameter_names)
    if isinstance(owner, ExposedOperation):
        resource = owner.resource if owner.resource_id else None
        if resource_names is None:
            resource_names = (
                list(resource.parameters.values_list("name", flat=True)) if resource else []
            )
        names += resource_names
        if names:
            names += [*path_variables(resource.path if resource else ""), "body"]
    if not names:
        return []  # nothing declared: a caller may send any parameter
    prefixes = ("rest", "tools", namespace or "")
    places = [("with", with_values)]
    for i, step in enumerate(owner.steps if isinstance(owner.steps, list) else []):
        if isinstance(step, dict):
            places.append((f"steps[{i}].with", step.get("with")))
    return [
        f"{where}.{'.'.join(str(k) for k in key_path)}: "
        + dangling_message(reference, label, names)
        for where, values in places
        for key_path, reference in dangling_references(values, prefixes, names)
    ]


def caller_errors(caller: CallingPart) -> list[str]:
    """Messages for the ``with`` references of a tool, REST operation or aggregate
    function (possibly unsaved, holding the values posted for it)."""
    return with_reference_errors(caller, caller.with_values)


def parameter_errors(owner: ParameterOwner, names: list[str]) -> list[str]:
    """Messages for ``with`` references that input parameters renamed or deleted to
    ``names`` would leave dangling: the owner's own (a tool, REST operation or
    aggregate function) or, for a REST resource, its operations'.

    Unchanged names give none: the owner's own page has checked its ``with`` values.
    """
    stored = list(owner.parameters.values_list("name", flat=True)) if owner.pk else []
    if sorted(names) == sorted(stored):
        return []
    if isinstance(owner, ExposedResource):
        return [
            message
            for operation in (owner.operations.all() if owner.pk else ())
            for message in with_reference_errors(
                operation, operation.with_values, resource_names=names
            )
        ]
    return with_reference_errors(owner, owner.with_values, parameter_names=names)


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Validation:
    """A capability as exported, read leniently and strictly.

    ``verdict`` is ``"invalid"`` (the lenient read fails), ``"strict"`` (both pass) or
    ``"lenient"`` (only the lenient read passes); ``message`` says so in one line.
    """

    name: str
    ok: bool
    strict_ok: bool
    warnings: int
    errors: list[Diagnostic] = field(default_factory=list)
    strict_errors: list[Diagnostic] = field(default_factory=list)

    @property
    def verdict(self) -> Literal["invalid", "strict", "lenient"]:
        if not self.ok:
            return "invalid"
        return "strict" if self.strict_ok else "lenient"

    @property
    def message(self) -> str:
        if not self.ok:
            first = self.errors[0]
            return f"{self.name}: invalid: {first.key_path}: {first.message}"
        if self.strict_ok:
            return f"{self.name}: valid (strict)"
        first = self.strict_errors[0]
        return (
            f"{self.name}: valid with {self.warnings} warnings; strict mode finds "
            f"{len(self.strict_errors)} errors, first: {first.key_path}: {first.message}"
        )


def validate(capability: Capability, *, max_bytes: int) -> Validation:
    """Read ``capability`` as it exports (imports inlined), leniently then strictly."""
    text = export_yaml(capability, inline_imports=True)
    results: list[tuple[bool, int, list[Diagnostic]]] = []
    for strict in (False, True):
        try:
            source = parse_source(text, origin=capability.name, max_bytes=max_bytes)
            parsed = parse_document(source, name=capability.name, strict=strict)
            results.append((True, len(parsed.warnings), []))
        except SpecError as exc:
            results.append((False, len(exc.warnings), exc.diagnostics))
    (ok, warnings, errors), (strict_ok, _, strict_errors) = results
    return Validation(
        name=capability.name,
        ok=ok,
        strict_ok=strict_ok,
        warnings=warnings,
        errors=list(errors),
        strict_errors=list(strict_errors),
    )
