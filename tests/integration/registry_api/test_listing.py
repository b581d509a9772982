"""The capability list: search, filters, pages, and a fixed number of queries (issue 13
point 1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capabilities_app.store import served
from capabilities_app.store.models import Capability, CapabilityTag, Expose, Tool
from tests.integration.registry_api.conftest import CAPABILITIES

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


def make_many(count: int, start: int = 0) -> None:
    """``count`` capabilities, each with two tags, a REST and an MCP expose and two tools
    (made as rows: the list reads rows, however they came)."""
    capabilities = Capability.objects.bulk_create(
        Capability(name=f"bulk-{i:03d}", label=f"Bulk {i}", description="Made in bulk.")
        for i in range(start, start + count)
    )
    CapabilityTag.objects.bulk_create(
        CapabilityTag(capability=c, name=tag, position=n)
        for c in capabilities
        for n, tag in enumerate(("bulk", c.name))
    )
    exposes = Expose.objects.bulk_create(
        Expose(capability=c, type=kind, namespace=f"{c.name}-{kind}", position=n)
        for c in capabilities
        for n, kind in enumerate(("rest", "mcp"))
    )
    Tool.objects.bulk_create(
        Tool(expose=e, name=f"tool-{n}", position=n)
        for e in exposes
        if e.type == "mcp"
        for n in range(2)
    )


class TestSearchAndFilters:
    def test_the_seeds_are_listed_by_name_with_their_counts_and_served_urls(self, client, seeds):
        response = client.get(CAPABILITIES)
        assert names(response) == ["prefect-account-billing", "shipyard-fleet"]
        prefect = response.json()["results"][0]
        assert prefect["operation_count"] == 8
        assert prefect["tool_count"] == 8
        assert prefect["url"] == served.capability_api_url("prefect-account-billing")
        rest = next(e for e in prefect["exposes"] if e["type"] == "rest")
        assert rest["url"] == served.rest_base_url("prefect-account-billing-rest")
        mcp = next(e for e in prefect["exposes"] if e["type"] == "mcp")
        assert mcp["url"] == served.mcp_url("prefect-account-billing-mcp")

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("PREFECT", ["prefect-account-billing"]),  # name, any case
            ("fleet-tools", ["shipyard-fleet"]),  # an expose namespace
            ("nothing-like-it", []),
        ],
    )
    def test_search_matches_name_and_namespace(self, client, seeds, query, found):
        assert names(client.get(CAPABILITIES, {"search": query})) == found

    def test_search_matches_label_and_tag(self, client, seeds):
        prefect = Capability.objects.get(name="prefect-account-billing")
        label_word = prefect.label.split()[0]
        tag = prefect.tags.first().name
        assert "prefect-account-billing" in names(client.get(CAPABILITIES, {"search": label_word}))
        assert names(client.get(CAPABILITIES, {"search": tag.upper()})) == [
            c.name for c in Capability.objects.filter(tags__name__icontains=tag).order_by("name")
        ]

    def test_tag_filter_is_exact(self, client, seeds):
        tag = Capability.objects.get(name="shipyard-fleet").tags.first().name
        assert "shipyard-fleet" in names(client.get(CAPABILITIES, {"tag": tag}))
        assert names(client.get(CAPABILITIES, {"tag": tag[:-1]})) == []

    def test_expose_type_and_enabled_filters(self, client, seeds):
        Expose.objects.filter(capability__name="shipyard-fleet", type="mcp").delete()
        Capability.objects.filter(name="prefect-account-billing").update(enabled=False)
        assert names(client.get(CAPABILITIES, {"expose": "mcp"})) == ["prefect-account-billing"]
        assert names(client.get(CAPABILITIES, {"enabled": "false"})) == ["prefect-account-billing"]
        assert names(client.get(CAPABILITIES, {"enabled": "true"})) == ["shipyard-fleet"]

    def test_a_bad_filter_value_is_a_problem(self, client, seeds):
        response = client.get(CAPABILITIES, {"expose": "carrier-pigeon"})
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"


class TestPages:
    def test_pages_cover_every_capability_once(self, client):
        make_many(7)
        first = client.get(CAPABILITIES, {"page_size": 3})
        body = first.json()
        assert body["count"] == 7
        seen = names(first)
        while body["next"]:
            page = client.get(body["next"])
            body = page.json()
            seen += names(page)
        assert seen == [f"bulk-{i:03d}" for i in range(7)]

    def test_a_page_past_the_end_is_a_404_problem(self, client):
        make_many(2)
        response = client.get(CAPABILITIES, {"page": 9})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_the_list_reads_a_fixed_number_of_queries_whatever_its_size(client):
    """Issue 13 point 1: the same queries for 5 capabilities as for 60 (one page of 60)."""
    make_many(5)
    with CaptureQueriesContext(connection) as small:
        assert len(names(client.get(CAPABILITIES, {"page_size": 100}))) == 5
    make_many(55, start=5)
    with CaptureQueriesContext(connection) as large:
        listed = client.get(CAPABILITIES, {"page_size": 100})
    assert len(names(listed)) == 60
    assert all(item["tool_count"] == 2 for item in listed.json()["results"])
    assert len(large.captured_queries) == len(small.captured_queries) <= 6
