"""Which caller parameters an operation reads (``reads.caller_names``), found statically:
what ``runtime.arguments_of`` resolves once for sync, async and MCP calls alike."""

from __future__ import annotations

from dataclasses import replace

from capabilities_app.core.paths import PathTemplate
from capabilities_app.runtime.catalog import (
    CapabilityContext,
    InputParam,
    Operation,
    Param,
    Upstream,
    UpstreamOperation,
)
from capabilities_app.runtime.reads import caller_names
from capabilities_app.runtime.templating import Binds, BindSource

BINDS = Binds((BindSource("env", (("TOKEN", "SOME_TOKEN"),)),))


def target(name: str, path: str, *params: Param, body=None) -> UpstreamOperation:
    upstream = Upstream("up", "https://upstream.example", None, ())
    return UpstreamOperation(upstream, name, "POST", PathTemplate.parse(path), params, body, None)


def operation(context: CapabilityContext, **fields) -> Operation:
    values = {
        "kind": "rest",
        "capability": "c",
        "namespace": "shop",
        "name": "op",
        "description": None,
        "call": None,
        "with_values": None,
        "steps": None,
        "mappings": None,
        "output_parameters": None,
        "parameters": (),
        "ref": None,
        "context": context,
        **fields,
    }
    return Operation(**values)


def context() -> CapabilityContext:
    return CapabilityContext("c", BINDS)


def test_issue_9_point_18_every_source_a_call_reads_is_found() -> None:
    """Issue 9 point 18: references, templates (sections, dotted tags), consumed
    parameters, path variables, body templates and declared parameters are found;
    bind variables are not caller names."""
    ctx = context()
    call = target(
        "create",
        "/orders/{order_id}/{{line}}",
        Param("order_id", "path"),
        Param("X-Trace", "header"),
        Param("Api-Version", "header", value="{{version}}-{{TOKEN}}"),
        Param("fixed", "query", value="literal"),
        body={"type": "json", "data": {"a": "{{#items}}{{name}}{{/items}}", "b": "{{env.TOKEN}}"}},
    )
    op = operation(
        ctx,
        call=call,
        with_values={
            "order_id": "rest.order-id",
            "X-Trace": "shop.trace",
            "nested": {"deep": "tools.deep", "t": "{{customer.name}} {{^none}}x{{/none}}"},
            "literal": "up.not-a-reference",
        },
        parameters=(InputParam("declared", "query"),),
    )

    names = set(caller_names(op))

    assert names == {
        "order-id",
        "trace",
        "deep",
        "customer",
        "none",
        "declared",
        "order_id",
        "X-Trace",
        "line",
        "version",
        "items",
        "name",
    }


def test_issue_9_point_18_steps_refs_and_mocks_are_found() -> None:
    """Issue 9 point 18: every step's call and ``with``, a ``ref``'d function's names, and
    mock output templates count."""
    ctx = context()
    step_target = target("lookup", "/things/{thing}", Param("filter", "query"))
    ctx.operations[step_target.call_name] = [step_target]
    function = operation(
        ctx,
        kind="function",
        namespace="agg",
        with_values={"x": "agg.fn-arg"},
        steps=[{"name": "s1", "call": "up.lookup", "with": {"thing": "agg.thing-id"}}],
    )
    function = replace(function, reads=caller_names(function))  # as the catalog builds it
    tool = operation(
        ctx,
        kind="tool",
        ref=function,
        output_parameters=[{"name": "greeting", "value": "hello {{who}}"}],
    )

    assert set(function.reads) == {"fn-arg", "thing-id", "thing", "filter"}
    assert set(caller_names(tool)) == {"fn-arg", "thing-id", "thing", "filter", "who"}
    assert list(caller_names(tool)) == sorted(caller_names(tool))
