"""Point 5 of issue 14: every page of a capability's parts renders in a number of
queries that does not grow with the parts it lists or names (100 tools cost what 10 do).

Each page is asked for once to warm what a process keeps (content types, the session),
then counted.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from capabilities_app.store import models as m
from tests.support.admin_forms import change_url, changelist_url

from .conftest import generated

pytestmark = pytest.mark.django_db

SMALL, LARGE = 10, 100
# The most any of these pages may run (session, user, the object, its parents, each
# inline's rows, each select's choice): a constant, whatever the size.
MOST = 30


def queries(client: Client, url: str, query: dict[str, str] | None = None) -> int:
    assert client.get(url, query).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query)
    assert response.status_code == 200
    return len(captured.captured_queries)


def pages(capability: m.Capability) -> dict[str, tuple[str, dict[str, str] | None]]:
    """One page of each kind of part of ``capability`` (the last one of each kind)."""
    mcp = capability.exposes.get(type="mcp")
    rest = capability.exposes.get(type="rest")
    consumes = capability.consumes.get()
    tool = m.Tool.objects.filter(expose=mcp).last()
    resource = m.ExposedResource.objects.filter(expose=rest).last()
    operation = m.ExposedOperation.objects.filter(resource__expose=rest).last()
    consumed = m.ConsumedOperation.objects.filter(resource__consumes=consumes).last()
    parts = {
        "capability": capability,
        "mcp expose": mcp,
        "rest expose": rest,
        "consumes": consumes,
        "tool": tool,
        "rest resource": resource,
        "rest operation": operation,
        "consumed resource": consumed.resource,
        "consumed operation": consumed,
        "tool parameter": m.ToolParameter.objects.filter(tool=tool).last(),
        "consumed parameter": consumed.parameters.last(),
    }
    found = {name: (change_url(part), None) for name, part in parts.items() if part is not None}
    found["all tools"] = (changelist_url(m.Tool), {"q": mcp.namespace})
    found["all rest operations"] = (changelist_url(m.ExposedOperation), {"q": rest.namespace})
    found["tool autocomplete"] = (
        "/admin/autocomplete/",
        {"app_label": "capabilities_app", "model_name": "tool", "field_name": "call"},
    )
    return found


def test_parts_exist_at_both_sizes() -> None:
    large = generated(LARGE)
    assert m.Tool.objects.filter(expose__capability=large).count() == LARGE
    assert m.ExposedOperation.objects.filter(resource__expose__capability=large).count() == LARGE
    assert m.ConsumedOperation.objects.filter(resource__consumes__capability=large).count() == LARGE


def test_every_part_page_costs_the_same_at_10_and_100(staff) -> None:
    small, large = generated(SMALL), generated(LARGE)
    counts = {}
    for (name, (url, query)), (_, (large_url, large_query)) in zip(
        pages(small).items(), pages(large).items(), strict=True
    ):
        counts[name] = (queries(staff, url, query), queries(staff, large_url, large_query))
    grown = {name: pair for name, pair in counts.items() if pair[0] != pair[1]}
    assert grown == {}, counts
    too_many = {name: pair for name, pair in counts.items() if pair[1] > MOST}
    assert too_many == {}, counts


def test_the_expose_page_names_each_tools_call(staff) -> None:
    """The tools' ``call`` selects are filled (named, without a query each), not empty."""
    large = generated(LARGE)
    page = staff.get(change_url(large.exposes.get(type="mcp"))).content.decode()
    for i in (0, 57, LARGE - 1):
        assert f'<option value="{_op(large, i).pk}" selected>bench{LARGE}.op-{i}</option>' in page


def _op(capability: m.Capability, i: int) -> m.ConsumedOperation:
    return m.ConsumedOperation.objects.get(
        resource__consumes__capability=capability, name=f"op-{i}"
    )
