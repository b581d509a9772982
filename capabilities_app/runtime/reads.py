"""Which caller parameters an operation can read, found once when the catalog is built.

``runtime.arguments_of`` looks up exactly these names on a caller (an HTTP request,
MCP tool arguments) and keeps the values as plain data: what a synchronous call runs
on, what a job stores and replays, and what an idempotency fingerprint covers. So the
set must hold every name ``runtime.invoke`` may ask the caller for; a name too many
costs one lookup, a name missing breaks a call.

The runtime asks the caller for: a ``with`` reference's name (``rest.x``, ``tools.x``,
``<namespace>.x``); a template's tags (in ``with`` values, consumed parameter values,
an operation ``body``, mock output values), first segment of a dotted tag, and
inside ``{{#sections}}`` too; a consumed parameter without a value and each path
variable (a ``with`` entry that resolves to nothing falls back to the caller); the
declared input parameters; and the same for every step's call and a ``ref``'d
function. A bind variable (``{{TOKEN}}``, ``{{env.TOKEN}}``) is not a caller name.

Must not import Django models, httpx, the MCP SDK or ``runtime``.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

import pystache

from capabilities_app.runtime.templating import Binds

if TYPE_CHECKING:
    from capabilities_app.runtime.catalog import Operation, UpstreamOperation

__all__ = ["caller_names", "template_names"]

# Any tag but comments, partials and closing tags: {{x}}, {{{x}}}, {{&x}}, {{#x}}, {{^x}}.
_ANY_TAG = re.compile(r"\{\{\{?\s*[#^&]?\s*([^\s{}!>/=#^&][^{}]*?)\s*\}?\}\}")


@functools.lru_cache(maxsize=4096)
def _keys(template: str) -> tuple[str, ...]:
    """The keys a Mustache template looks up (sections and custom delimiters included)."""
    try:
        parsed = pystache.parse(template)
    except Exception:  # an unbalanced template: the regex sees its tags all the same
        return tuple(_ANY_TAG.findall(template))
    keys: list[str] = []
    pending = [parsed]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            continue
        tree = getattr(node, "_parse_tree", None)
        if tree is not None:
            pending.extend(tree)
            continue
        if isinstance(node, list):
            pending.extend(node)
            continue
        key = getattr(node, "key", None)
        if isinstance(key, str):
            keys.append(key)
        for inner in (getattr(node, "parsed", None), getattr(node, "parsed_section", None)):
            if inner is not None:
                pending.append(inner)
    return tuple(keys)


def template_names(value: Any, binds: Binds, into: set[str]) -> None:
    """Caller names the templates anywhere inside ``value`` look up."""
    if isinstance(value, str):
        if "{{" not in value:  # custom delimiters are set with a {{=…=}} tag
            return
        namespaces = binds.namespaces()
        for key in _keys(value):
            first = key.strip().split(".", 1)[0]
            if not first or first in namespaces or binds.declares(first):
                continue
            into.add(first)
    elif isinstance(value, dict):
        for inner in value.values():
            template_names(inner, binds, into)
    elif isinstance(value, list | tuple):
        for inner in value:
            template_names(inner, binds, into)


def _with_names(values: Any, prefixes: tuple[str, ...], binds: Binds, into: set[str]) -> None:
    """Names a ``with`` block reads: references by their name, templates by their tags."""
    if isinstance(values, str):
        prefix, dot, name = values.partition(".")
        if dot and prefix in prefixes and name:
            into.add(name)
        else:
            template_names(values, binds, into)
    elif isinstance(values, dict):
        for inner in values.values():
            _with_names(inner, prefixes, binds, into)


def _target_names(target: UpstreamOperation, binds: Binds, into: set[str]) -> None:
    for param in target.parameters:
        if param.value is None:
            into.add(param.name)
        else:
            template_names(param.value, binds, into)
    into.update(target.path.variables)
    template_names(target.body, binds, into)


def caller_names(operation: Operation) -> tuple[str, ...]:
    """Every caller parameter name ``runtime.invoke(operation, …)`` may look up, sorted
    (so lookups, and the first error one raises, come in the same order everywhere)."""
    binds = operation.context.binds
    prefixes = ("rest", "tools", operation.namespace)
    names: set[str] = {param.name for param in operation.parameters}
    _with_names(operation.with_values, prefixes, binds, names)
    if operation.call is not None:
        _target_names(operation.call, binds, names)
    for step in operation.steps or ():
        if not isinstance(step, dict):
            continue
        _with_names(step.get("with"), prefixes, binds, names)
        target = operation.context.operation(str(step.get("call"))) if "call" in step else None
        if target is not None:
            _target_names(target, binds, names)
    template_names(operation.output_parameters, binds, names)
    if operation.ref is not None:
        names.update(operation.ref.reads)
    return tuple(sorted(names))
