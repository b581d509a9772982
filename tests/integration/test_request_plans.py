"""Every consumed operation of the seeds and the corpus: its plan builds the old request.

Each document is imported into an empty registry and its catalog built; for every
consumed operation (and every REST operation, MCP tool and function that calls one,
through its ``with`` values), the compiled plan (``runtime/plans.py``) and the
per-call builder it replaced (``tests/support/request_reference.py``) build the
request for the same caller values, plain and hostile; they must give the same
request field for field and the same bytes on the wire, or the same error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capabilities_app.runtime.builder import build_catalog
from capabilities_app.runtime.callers import ResolvedCaller, arguments_of
from capabilities_app.runtime.catalog import Catalog, Operation, UpstreamOperation
from capabilities_app.runtime.plans import build_request
from capabilities_app.runtime.requests import evaluate_with
from capabilities_app.runtime.templating import tag_names
from capabilities_app.store.importer import file_inputs, import_documents
from capabilities_app.store.specs import file_import_resolver
from tests.conftest import FIXTURES, MAX_BYTES
from tests.integration.test_corpus import IMPORTABLE, ids
from tests.support import request_reference
from tests.support.request_reference import outcome

pytestmark = pytest.mark.django_db

DOCUMENTS = sorted(FIXTURES.glob("*.yaml")) + IMPORTABLE
VALUES = [
    "IMO9321483",
    "",
    "../..",
    "%2e%2e",
    "a/b?c=d#e",
    "line\r\nX-Injected: 1",
    "é 東京 \u2028",
    "{{TOKEN}}",
    "a; admin=1",
    '"},"x":1,{"',
    "<x a='1'>&amp;</x>",
    3,
    True,
    None,
    ["a", "b c"],
    {"k": "v"},
]


def document_ids(path: Path) -> str:
    return path.name if path.parent == FIXTURES else ids(path)


def catalog_of(path: Path) -> Catalog:
    report = import_documents(
        file_inputs([path], max_bytes=MAX_BYTES),
        resolve_import=file_import_resolver(max_bytes=MAX_BYTES),
    )
    assert report.outcomes[0].capability_id is not None
    return build_catalog(1)


def operations(catalog: Catalog) -> tuple[list[Operation], list[UpstreamOperation]]:
    exposed = [
        op for routes in catalog.routes.values() for r in routes for op in r.methods.values()
    ]
    exposed += [tool for server in catalog.mcp.values() for tool in server.tools.values()]
    exposed += [op.ref for op in exposed if op.ref is not None]
    consumed = {
        id(target): target
        for op in exposed
        for targets in op.context.operations.values()
        for target in targets
    }
    return exposed, list(consumed.values())


def names_of(target: UpstreamOperation) -> set[str]:
    names = {p.name for p in target.parameters} | set(target.path.variables)
    for param in target.parameters:
        if isinstance(param.value, str):
            names.update(tag.split(".")[0] for tag in tag_names(param.value))
    if isinstance(target.body, str):
        names.update(tag.split(".")[0] for tag in tag_names(target.body))
    return names


def callers(names: set[str]) -> list[ResolvedCaller]:
    """No values; then every name with one value, for each value of ``VALUES``."""
    found = [ResolvedCaller({})]
    for value in VALUES:
        found.append(ResolvedCaller(dict.fromkeys(sorted(names), value)))
    found.append(ResolvedCaller({"imo": "x"}, {"Idempotency-Key": "key-1"}))
    return found


@pytest.mark.parametrize("path", DOCUMENTS, ids=document_ids)
def test_every_consumed_operation_builds_the_old_request(path, monkeypatch):
    for variable in ("FLEET_TOKEN", "NETBIRD_API_KEY", "PREFECT_API_KEY", "API_KEY", "TOKEN"):
        monkeypatch.setenv(variable, f"{variable.lower()}-value")
    exposed, consumed = operations(catalog_of(path))
    compared = 0
    for target in consumed:
        binds = next((op.context.binds for op in exposed if _calls(op, target)), None)
        if binds is None:
            continue
        for caller in callers(names_of(target)):
            old = outcome(request_reference.build_request, target, {}, caller, binds)
            assert outcome(build_request, target, {}, caller, binds) == old, target.call_name
            compared += 1
    for op in exposed:
        if op.call is None or op.unserved is not None:
            continue
        for caller in callers(set(op.reads)):
            resolved = ResolvedCaller(arguments_of(op, caller), caller.upstream_headers)
            withs = evaluate_with(op.with_values, op, resolved)
            binds = op.context.binds
            old = outcome(request_reference.build_request, op.call, withs, resolved, binds)
            assert outcome(build_request, op.call, withs, resolved, binds) == old, op.name
            compared += 1
    assert compared or not consumed


def _calls(op: Operation, target: UpstreamOperation) -> bool:
    return any(t is target for targets in op.context.operations.values() for t in targets)
