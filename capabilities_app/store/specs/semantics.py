"""The semantic checker: what spans parts (calls, refs, namespaces, routes), over the
references ``specs.references`` checks.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from capabilities_app.core.errors import DiagnosticList
from capabilities_app.core.paths import PathTemplate
from capabilities_app.store.loader import KeyPath, Source
from capabilities_app.store.specs.imports import ConsumesEntry
from capabilities_app.store.specs.references import ReferenceChecks

__all__ = ["GENERATED_PATHS", "SemanticChecker"]

# What the registry serves itself under /rest/<namespace>/ (api.openapi_views): a route of
# the expose there wins, and hides the generated document (docs/openapi.md).
GENERATED_PATHS = ("/openapi.json", "/openapi.yaml", "/docs")


def _hides(path: str, *, forward: bool) -> list[str]:
    """The generated paths a resource path (a forward: with all below it) matches."""
    template = PathTemplate.parse("/" + path.strip().strip("/"))
    pattern = template.pattern(rest_of_path=forward).rstrip("/") or "/"
    if forward and not template.ends_with_variable:
        pattern = ("" if pattern == "/" else pattern) + "(/.*)?"
    return [p for p in GENERATED_PATHS if re.fullmatch(pattern, p)]


@dataclass
class _Operation:
    path: KeyPath  # in the resolved document
    namespace: str
    name: str
    method: str
    description: str
    resource_path: str
    parameters: frozenset[str | None]  # None: a parameter written without a name


def _normal_path(path: str) -> str:
    """A path compared loosely: lower case, ``_`` as ``-``, each variable as ``{}``."""
    parts = PathTemplate.parse(path.lower()).parts
    path = "".join(part if i % 2 == 0 else "{}" for i, part in enumerate(parts))
    return path.replace("_", "-").rstrip("/")


class SemanticChecker(ReferenceChecks):
    """Checks what spans parts: calls, refs, namespaces, binds, secrets."""

    def __init__(
        self,
        source: Source,
        consumes: list[ConsumesEntry],
        diags: DiagnosticList,
        *,
        strict: bool,
        held: dict[KeyPath, str] | None = None,
    ) -> None:
        self.source = source
        self.consumes = list(consumes)  # less the repeated namespaces held in lenient mode
        self.diags = diags
        self.strict = strict
        self.held: dict[KeyPath, str] = held if held is not None else {}
        self.call_targets: dict[KeyPath, KeyPath] = {}
        self.ref_targets: dict[KeyPath, KeyPath] = {}
        self.operations: dict[tuple[str, str], list[_Operation]] = defaultdict(list)
        self.namespaces: dict[str, list[str]] = defaultdict(list)
        capability = source.data.get("capability")
        self.capability = capability if isinstance(capability, dict) else {}

    def run(self) -> None:
        self.check_consumes_namespaces()
        self.index_operations()
        functions = self.index_functions()
        for path, owner, context in self.callers():
            if "call" in owner:
                self.resolve_call(path, owner, context)
            if "ref" in owner:
                self.resolve_ref(path, owner, functions)
            for i, step in enumerate(owner.get("steps") or []):
                if isinstance(step, dict) and isinstance(step.get("call"), str):
                    self.resolve_call((*path, "steps", i), step, context, store=False)
        self.check_exposes()
        self.check_with_references()
        self.check_binds()
        self.check_secrets()

    # -- indexes

    def index_operations(self) -> None:
        for entry in self.consumes:
            namespace = entry.namespace
            for ri, resource in enumerate(entry.data.get("resources") or []):
                for oi, op in enumerate(resource.get("operations") or []):
                    params = frozenset(
                        p.get("name")
                        for p in [
                            *(op.get("inputParameters") or []),
                            *(resource.get("inputParameters") or []),
                        ]
                        if isinstance(p, dict)
                    )
                    self.operations[(namespace, op["name"])].append(
                        _Operation(
                            path=(*entry.doc_path, "resources", ri, "operations", oi),
                            namespace=namespace,
                            name=op["name"],
                            method=op["method"],
                            description=str(op.get("description") or ""),
                            resource_path=str(resource.get("path") or ""),
                            parameters=params,
                        )
                    )

    def check_consumes_namespaces(self) -> None:
        """A namespace declared again: an error, or (lenient) the first declaration serves
        and the others are held, kept as written."""
        seen: dict[str, KeyPath] = {}
        served: list[ConsumesEntry] = []
        for entry in self.consumes:
            if entry.namespace in seen:
                line, _ = self.source.locate((*seen[entry.namespace], "namespace"))
                message = (
                    f"consumes namespace {entry.namespace!r} is declared again (first at line "
                    f"{line}); a call could not tell them apart"
                )
                if not self.strict:
                    message += (
                        ". The first declaration serves; this one is kept as written "
                        "(and exported) but not served"
                    )
                    self.held[entry.doc_path] = message
                self.report(
                    self.unserved, "duplicate_namespace", (*entry.doc_path, "namespace"), message
                )
                if not self.strict:
                    continue
            else:
                seen[entry.namespace] = entry.doc_path
            served.append(entry)
            self.namespaces[entry.namespace].append("consumes")
        self.consumes = served

    def index_functions(self) -> dict[tuple[str, str], KeyPath]:
        functions: dict[tuple[str, str], KeyPath] = {}
        for ai, aggregate in enumerate(self.capability.get("aggregates") or []):
            self.namespaces[aggregate["namespace"]].append("aggregates")
            for fi, function in enumerate(aggregate.get("functions") or []):
                functions[(aggregate["namespace"], function["name"])] = (
                    "capability",
                    "aggregates",
                    ai,
                    "functions",
                    fi,
                )
        return functions

    def callers(self) -> Iterator[tuple[KeyPath, dict[str, Any], dict[str, Any]]]:
        """Every object that may ``call`` or ``ref``, with what helps disambiguate a call."""
        base: KeyPath = ("capability",)
        for ei, expose in self.exposes():
            kind = expose.get("type")
            if kind == "rest":
                for ri, resource in enumerate(expose.get("resources") or []):
                    for oi, op in enumerate(resource.get("operations") or []):
                        path = (*base, "exposes", ei, "resources", ri, "operations", oi)
                        yield (
                            path,
                            op,
                            {
                                "method": op.get("method"),
                                "path": resource.get("path") or "",
                                "description": op.get("description"),
                            },
                        )
            elif kind == "mcp":
                for ti, tool in enumerate(expose.get("tools") or []):
                    yield (
                        (*base, "exposes", ei, "tools", ti),
                        tool,
                        {"description": tool.get("description")},
                    )
                for ri, resource in enumerate(expose.get("resources") or []):
                    yield (
                        (*base, "exposes", ei, "resources", ri),
                        resource,
                        {"description": resource.get("description")},
                    )
        for ai, aggregate in enumerate(self.capability.get("aggregates") or []):
            for fi, function in enumerate(aggregate.get("functions") or []):
                path = (*base, "aggregates", ai, "functions", fi)
                yield path, function, {"description": function.get("description")}

    # -- calls and refs

    def resolve_call(
        self,
        path: KeyPath,
        owner: dict[str, Any],
        context: dict[str, Any],
        *,
        store: bool = True,
    ) -> None:
        call = owner.get("call")
        call_path = (*path, "call")
        if call is None:
            return
        parts = str(call).split(".")
        if len(parts) != 2 or not all(parts):
            self.report(
                self.unserved,
                "invalid_call",
                call_path,
                f"call {call!r} must be 'namespace.operation' (two parts)" + self._kept(),
            )
            return
        namespace, name = parts
        candidates = self.operations.get((namespace, name), [])
        if not candidates:
            self.report(
                self.unserved,
                "unknown_call",
                call_path,
                self._missing_call(namespace, name) + self._kept(),
            )
            return
        chosen = candidates[0]
        if len(candidates) > 1:
            chosen = self._disambiguate(candidates, owner, context)
            self.report(
                "warning",
                "ambiguous_call",
                call_path,
                f"{len(candidates)} operations in {namespace!r} are named {name!r}; "
                f"using the one on {chosen.method} {chosen.resource_path} (best match by "
                "description, method and path)",
            )
        if store:
            self.call_targets[call_path] = chosen.path

    def _kept(self) -> str:
        """What a lenient import does with a part whose call or ref does not resolve."""
        if self.strict:
            return ""
        return ". Kept as written; calling the operation answers 503 (operation_not_served)"

    def _missing_call(self, namespace: str, name: str) -> str:
        names = sorted(n for (ns, n) in self.operations if ns == namespace)
        if names:
            shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
            return f"call to {namespace}.{name}: no operation {name!r} in {namespace!r} ({shown})"
        for held_path in self.held:
            held = self.source.data
            for key in held_path:
                held = held[key]
            if held_path[-2] == "consumes" and held.get("namespace") == namespace:
                return (
                    f"call to {namespace}.{name}: consumes namespace {namespace!r} is not served "
                    f"(line {self.source.locate(held_path)[0]})"
                )
        known = sorted({entry.namespace for entry in self.consumes})
        return f"call to {namespace}.{name}: no consumes namespace {namespace!r}" + (
            f" (declared: {', '.join(known)})" if known else " (none is declared)"
        )

    @staticmethod
    def _disambiguate(
        candidates: list[_Operation], owner: dict[str, Any], context: dict[str, Any]
    ) -> _Operation:
        with_keys = (
            set((owner.get("with") or {}).keys()) if isinstance(owner.get("with"), dict) else set()
        )
        exposed_path = _normal_path(str(context.get("path") or ""))

        def score(op: _Operation) -> int:
            total = 0
            if context.get("description") and op.description == context["description"]:
                total += 4
            if context.get("method") and op.method == context["method"]:
                total += 2
            if exposed_path and exposed_path.endswith(_normal_path(op.resource_path)):
                total += 2
            if with_keys and with_keys <= op.parameters:
                total += 1
            return total

        return max(candidates, key=score)  # max keeps the first among equals

    def resolve_ref(
        self,
        path: KeyPath,
        owner: dict[str, Any],
        functions: dict[tuple[str, str], KeyPath],
    ) -> None:
        ref = owner.get("ref")
        if ref is None:
            return
        parts = str(ref).split(".")
        target = functions.get((parts[0], parts[1])) if len(parts) == 2 else None
        if target is None:
            known = ", ".join(f"{ns}.{fn}" for ns, fn in functions) or "none is declared"
            self.report(
                self.unserved,
                "unknown_ref",
                (*path, "ref"),
                f"ref {ref!r} names no aggregate function ({known})" + self._kept(),
            )
            return
        self.ref_targets[(*path, "ref")] = target

    # -- exposes

    def check_exposes(self) -> None:
        seen: dict[str, int] = {}
        for ei, expose in self.exposes():
            namespace = expose.get("namespace")
            path: KeyPath = ("capability", "exposes", ei)
            if namespace:
                if namespace in seen:
                    self.report(
                        "error",
                        "duplicate_namespace",
                        (*path, "namespace"),
                        f"expose namespace {namespace!r} is declared twice",
                    )
                seen[namespace] = ei
                self.namespaces[namespace].append("exposes")
            if expose.get("type") == "rest":
                self.check_rest_routes(expose, path)
        for bind in self.all_binds():
            self.namespaces[bind[1]["namespace"]].append("binds")
        for namespace, kinds in self.namespaces.items():
            if len(kinds) > 1 and len(set(kinds)) > 1:
                self.report(
                    "error" if self.strict else "warning",
                    "namespace_reused",
                    (),
                    f"namespace {namespace!r} is used by {' and '.join(sorted(set(kinds)))}; "
                    "the spec wants namespaces unique (rule naftiko-namespaces-unique)",
                )

    def check_rest_routes(self, expose: dict[str, Any], path: KeyPath) -> None:
        seen: dict[tuple[str, str], KeyPath] = {}
        consumes_namespaces = {entry.namespace for entry in self.consumes}
        for ri, resource in enumerate(expose.get("resources") or []):
            route = _normal_path(str(resource.get("path")))
            forward = resource.get("forward")
            for hidden in _hides(str(resource.get("path")), forward=isinstance(forward, dict)):
                self.report(
                    "warning",
                    "generated_document_hidden",
                    (*path, "resources", ri, "path"),
                    f"/rest/{expose.get('namespace')}{hidden} is served by this resource, so "
                    "the registry's generated OpenAPI document or docs page is not served there",
                )
            if isinstance(forward, dict) and forward.get("targetNamespace") not in (
                consumes_namespaces
            ):
                self.report(
                    "warning",
                    "unknown_forward",
                    (*path, "resources", ri, "forward", "targetNamespace"),
                    f"forward target {forward.get('targetNamespace')!r} is not a consumes "
                    "namespace of this capability",
                )
            for oi, op in enumerate(resource.get("operations") or []):
                key = (route, str(op.get("method")))
                op_path = (*path, "resources", ri, "operations", oi, "method")
                if key in seen:
                    line, _ = self.source.locate(seen[key])
                    self.report(
                        "warning",
                        "duplicate_route",
                        op_path,
                        f"{op.get('method')} {resource.get('path')} is declared again "
                        f"(first at line {line}); only the first answers",
                    )
                else:
                    seen[key] = op_path
