"""Running an operation: the one code path behind the REST surface, MCP tools and jobs.

``invoke(operation, caller)`` resolves the caller's parameters (RUNTIME-CONTRACT §3,
``callers``), builds and sends the upstream request (§4, ``requests``), and shapes the
answer (§5, an ``outcome.Outcome``), for every mode an operation can have (§7): a
``call``, ``steps`` (call and lookup), a ``ref`` to an aggregate function, or a mock
(``steps``). ``steps.forward`` proxies a REST path as it is.

Errors are registry errors (``core.errors``), raised before any upstream request when
they concern the caller's input or the configuration.

Must not import Django models, httpx (``upstream`` does) or the MCP SDK.
"""

from __future__ import annotations

from capabilities_app.core.errors import OperationNotServed
from capabilities_app.runtime import mapping, steps, upstream
from capabilities_app.runtime.callers import Caller
from capabilities_app.runtime.catalog import Operation
from capabilities_app.runtime.outcome import JSON, Outcome, passed_headers
from capabilities_app.runtime.plans import build_request
from capabilities_app.runtime.requests import client, evaluate_with

__all__ = ["invoke", "prepare", "shape"]


def invoke(operation: Operation, caller: Caller) -> Outcome:
    """Run ``operation`` for ``caller`` and return its outcome."""
    if operation.unserved is not None:  # kept by a lenient import, cannot run: 503
        raise OperationNotServed(operation.unserved)
    if operation.ref is not None:
        # The function runs with the same caller; its own namespace becomes a prefix.
        return invoke(operation.ref, caller)
    if operation.steps:
        return steps.orchestrate(operation, caller)
    if operation.call is not None:
        return _call(operation, caller)
    if operation.output_parameters:
        return steps.mock(operation, caller)
    return Outcome(204, content=b"")


def _call(operation: Operation, caller: Caller) -> Outcome:
    response = client().send(prepare(operation, caller))
    return shape(operation, response)


def prepare(operation: Operation, caller: Caller) -> upstream.Request:
    """The upstream request of a ``call`` operation, checked but not sent.

    Raises what the call would raise before any I/O: a missing parameter (400), a
    missing secret or an unconfigured upstream (503).
    """
    withs = evaluate_with(operation.with_values, operation, caller)
    if operation.call is None:  # both callers (invoke, a job's submit) have checked
        raise ValueError("prepare() is for an operation with a call")
    return build_request(operation.call, withs, caller, operation.context.binds)


def shape(operation: Operation, response: upstream.Response) -> Outcome:
    """The caller's answer from the upstream's (§5)."""
    if not 200 <= response.status < 300:
        return Outcome.as_it_came(response)
    content_type = response.content_type
    headers = passed_headers(response.headers)
    outputs = operation.output_parameters
    raw_format = (operation.call.output_raw_format or "").lower() if operation.call else None
    if not outputs or (mapping.is_pass_through(outputs) and raw_format in mapping.JSON_FORMATS):
        return Outcome(
            response.status,
            content_type or JSON,
            content=response.content,
            from_upstream=True,
            headers=headers,
        )
    data = mapping.decode(response.content, raw_format)
    mapped = mapping.map_outputs(outputs, data, xml=raw_format == "xml")
    return Outcome(response.status, JSON, data=mapped, from_upstream=True, headers=headers)
