"""What a document's strings refer to: ``with`` references (§3), bind variables, secrets.

``ReferenceChecks`` is the half of the semantic checker (``specs.semantics``) that reads
references; the names it checks against (``path_variables``, ``dangling_references``)
are shared with the admin's edit checks (``store.editing``).

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from capabilities_app.core.errors import DiagnosticList
from capabilities_app.core.paths import PathTemplate
from capabilities_app.store import vocabulary
from capabilities_app.store.loader import KeyPath, Source
from capabilities_app.store.specs.imports import ConsumesEntry

__all__ = [
    "ReferenceChecks",
    "dangling_message",
    "dangling_references",
    "normalise",
    "path_variables",
]

_MUSTACHE = re.compile(r"\{\{\s*([^{}#^/!>&\s][^{}]*?)\s*\}\}")
_BIND_VARIABLE = re.compile(vocabulary.BIND_VARIABLE_PATTERN)
_SECRET_FIELDS = {"token", "password", "value"}


def normalise(name: str) -> str:
    """Caller parameter names compared loosely (§3): lower case, no ``-`` or ``_``."""
    return name.lower().replace("-", "").replace("_", "")


def path_variables(path: str) -> list[str]:
    """The ``{x}`` and ``{{x}}`` variables of a resource path."""
    return [name.strip() for name in PathTemplate.parse(path).variables]


def _declared_names(parameters: Any) -> list[str]:
    return [
        p["name"]
        for p in parameters or []
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]


def dangling_references(
    values: Any, prefixes: tuple[str, ...], names: list[str]
) -> Iterator[tuple[KeyPath, str]]:
    """``(key path inside values, reference)`` for each ``PREFIX.x`` whose ``x`` is none of
    ``names`` (compared normalised, §3). Nested mappings are walked as the runtime does."""
    if not isinstance(values, dict):
        return
    known = {normalise(n) for n in names}
    for key, value in values.items():
        if isinstance(value, dict):
            for inner, reference in dangling_references(value, prefixes, names):
                yield (key, *inner), reference
            continue
        if not isinstance(value, str):
            continue
        prefix, dot, name = value.partition(".")
        if dot and prefix in prefixes and name and normalise(name) not in known:
            yield (key,), value


def dangling_message(reference: str, label: str, names: list[str]) -> str:
    shown = ", ".join(dict.fromkeys(n for n in names if n != "body"))
    return (
        f"{reference} names no parameter of {label} (it declares: {shown}); the call would "
        "never receive a value for it"
    )


class ReferenceChecks:
    """The reference checks of ``SemanticChecker``, which sets the state they read."""

    source: Source
    consumes: list[ConsumesEntry]
    diags: DiagnosticList
    strict: bool
    held: dict[KeyPath, str]
    capability: dict[str, Any]

    def report(self, severity: str, code: str, path: KeyPath, message: str) -> None:
        self.diags.add(self.source.diagnostic(severity, code, path, message))

    @property
    def unserved(self) -> str:
        """What cannot be served: refused in strict mode, a warning otherwise."""
        return "error" if self.strict else "warning"

    def exposes(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """The capability's exposes that are not held (index, expose)."""
        for ei, expose in enumerate(self.capability.get("exposes") or []):
            if ("capability", "exposes", ei) not in self.held:
                yield ei, expose

    # -- with references (§3)

    def check_with_references(self) -> None:
        """``PREFIX.x`` in a ``with`` names caller parameter ``x``: with declared input
        parameters, ``x`` must be one of them (or, for REST, a path variable or ``body``)."""
        for path, owner, names, prefix, label in self.declaring_callers():
            if not names:
                continue
            prefixes = ("rest", "tools", prefix)
            places = [((*path, "with"), owner.get("with"))]
            for i, step in enumerate(owner.get("steps") or []):
                if isinstance(step, dict):
                    places.append(((*path, "steps", i, "with"), step.get("with")))
            for with_path, values in places:
                for key_path, reference in dangling_references(values, prefixes, names):
                    self.report(
                        self.unserved,
                        "unknown_with_reference",
                        (*with_path, *key_path),
                        dangling_message(reference, label, names),
                    )

    def declaring_callers(self) -> Iterator[tuple[KeyPath, dict[str, Any], list[str], str, str]]:
        """``(path, owner, names it may reference, its own prefix, how to name it)``."""
        for ei, expose in self.exposes():
            base: KeyPath = ("capability", "exposes", ei)
            namespace = str(expose.get("namespace") or "")
            if expose.get("type") == "rest":
                for ri, resource in enumerate(expose.get("resources") or []):
                    for oi, op in enumerate(resource.get("operations") or []):
                        declared = [
                            *_declared_names(op.get("inputParameters")),
                            *_declared_names(resource.get("inputParameters")),
                        ]
                        names = (
                            [*declared, *path_variables(str(resource.get("path") or "")), "body"]
                            if declared
                            else []
                        )
                        label = f"operation {op.get('method')} {resource.get('path')}"
                        path = (*base, "resources", ri, "operations", oi)
                        yield path, op, names, namespace, label
            elif expose.get("type") == "mcp":
                for ti, tool in enumerate(expose.get("tools") or []):
                    names = _declared_names(tool.get("inputParameters"))
                    yield (*base, "tools", ti), tool, names, namespace, f"tool {tool.get('name')!r}"
        for ai, aggregate in enumerate(self.capability.get("aggregates") or []):
            for fi, function in enumerate(aggregate.get("functions") or []):
                names = _declared_names(function.get("inputParameters"))
                path = ("capability", "aggregates", ai, "functions", fi)
                label = f"function {function.get('name')!r}"
                yield path, function, names, str(aggregate.get("namespace") or ""), label

    # -- binds and secrets

    def all_binds(self) -> Iterator[tuple[KeyPath, dict[str, Any]]]:
        for i, bind in enumerate(self.source.data.get("binds") or []):
            yield ("binds", i), bind
        for i, bind in enumerate(self.capability.get("binds") or []):
            yield ("capability", "binds", i), bind

    def check_binds(self) -> None:
        if "capability" not in self.source.data:
            # A shared consumes document uses the binds of the documents that import it;
            # its variables are checked there.
            return
        by_namespace: dict[str, set[str]] = {}
        for _path, bind in self.all_binds():
            variables = set((bind.get("keys") or {}).keys())
            by_namespace.setdefault(bind["namespace"], set()).update(variables)
        declared = set().union(*by_namespace.values()) if by_namespace else set()
        parameter_names = set(self._parameter_names(self.source.data))
        for entry in self.consumes:
            parameter_names.update(self._parameter_names(entry.data))
        reported: set[str] = set()
        for source, path, text in self._strings():
            for match in _MUSTACHE.finditer(text):
                token = match.group(1)
                namespace, _, variable = token.rpartition(".")
                if namespace:
                    if namespace not in by_namespace or variable in by_namespace[namespace]:
                        continue
                    problem = f"bind namespace {namespace!r} declares no variable {variable!r}"
                elif (
                    _BIND_VARIABLE.match(token)
                    and token not in declared
                    and token not in parameter_names
                ):
                    problem = f"{{{{{token}}}}} is not declared in any binds entry"
                else:
                    continue
                if token in reported:
                    continue
                reported.add(token)
                self.diags.add(
                    source.diagnostic(
                        "error" if self.strict else "warning",
                        "undeclared_bind",
                        path,
                        f"undeclared bind variable: {problem}",
                    )
                )

    def _strings(self) -> Iterator[tuple[Source, KeyPath, str]]:
        def walk(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
            if isinstance(value, str):
                if "{{" in value:
                    yield path, value
            elif isinstance(value, dict):
                for k, v in value.items():
                    yield from walk(v, (*path, k))
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    yield from walk(v, (*path, i))

        for path, text in walk(self.source.data, ()):
            yield self.source, path, text
        for entry in self.consumes:
            if entry.import_entry is not None:
                for path, text in walk(entry.data, entry.data_path):
                    yield entry.source, path, text

    @staticmethod
    def _parameter_names(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("inputParameters", "arguments") and isinstance(item, list):
                    for p in item:
                        if isinstance(p, dict) and isinstance(p.get("name"), str):
                            yield p["name"]
                yield from ReferenceChecks._parameter_names(item)
        elif isinstance(value, list):
            for item in value:
                yield from ReferenceChecks._parameter_names(item)

    def check_secrets(self) -> None:
        places: list[tuple[Source, KeyPath, Any]] = []
        for entry in self.consumes:
            places.append((entry.source, (*entry.data_path, "authentication"), entry.data))
        for ei, expose in self.exposes():
            places.append((self.source, ("capability", "exposes", ei, "authentication"), expose))
        for source, path, owner in places:
            auth = owner.get("authentication")
            if not isinstance(auth, dict):
                continue
            for key in sorted(_SECRET_FIELDS & auth.keys()):
                value = auth[key]
                if key == "value" and auth.get("type") != "apikey":
                    continue
                if isinstance(value, str) and value and "{{" not in value:
                    self.diags.add(
                        source.diagnostic(
                            "warning",
                            "literal_secret",
                            (*path, key),
                            f"authentication {key} is written literally, so it is stored and "
                            "exported as written; use a bind variable ({{VARIABLE}})",
                        )
                    )
