"""Issue 13 point 3.

The catalog's index ``/``: enabled capabilities, search, tags, counts, pages, and a
constant number of queries however many capabilities there are."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capabilities_app.store import models as m

pytestmark = pytest.mark.django_db


def names_on(page: str) -> list[str]:
    return re.findall(r'<span class="name mono">([^<]*)</span>', page)


def test_the_seeds_are_listed_with_their_counts(browser_client, seeds):
    response = browser_client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert names_on(page) == ["netbird-checkout", "prefect-account-billing"]
    prefect = page.split('<span class="name mono">prefect-account-billing</span>')[1]
    assert "<b>8</b> REST operations" in prefect
    assert "<b>8</b> MCP tools" in prefect
    netbird = page.split('<span class="name mono">netbird-checkout</span>')[1].split("</li>\n")[0]
    assert "<b>1</b> REST operation<" in page.split("netbird-checkout</span>")[1]
    assert "Account Billing" in prefect and "Netbird" in netbird
    assert 'href="/catalog/prefect-account-billing/"' in page


def test_disabled_capabilities_and_shared_consumes_documents_are_not_listed(browser_client, seeds):
    prefect, _netbird = seeds
    prefect.enabled = False
    prefect.save()
    m.Capability.objects.create(name="shared-upstream", kind=m.Capability.Kind.CONSUMES)
    assert names_on(browser_client.get("/").content.decode()) == ["netbird-checkout"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("prefect", ["prefect-account-billing"]),  # name
        ("NetBird REST", ["netbird-checkout"]),  # label
        ("Lead operation: Create checkout", ["netbird-checkout"]),  # description
        ("account billing", ["prefect-account-billing"]),  # a tag (and the label)
        ("nothing-like-this", []),
    ],
)
def test_search(browser_client, seeds, query, expected):
    page = browser_client.get("/", {"q": query}).content.decode()
    assert names_on(page) == expected


def test_search_finds_a_tag_alone(browser_client, seeds):
    prefect, _ = seeds
    m.CapabilityTag.objects.create(capability=prefect, name="invoices-zz", position=9)
    assert names_on(browser_client.get("/", {"q": "invoices-zz"}).content.decode()) == [
        "prefect-account-billing"
    ]


def test_tag_filter_links(browser_client, seeds):
    page = browser_client.get("/").content.decode()
    assert 'href="?tag=Checkout"' in page
    assert 'href="?tag=Account%20Billing"' in page
    filtered = browser_client.get("/", {"tag": "Checkout"}).content.decode()
    assert names_on(filtered) == ["netbird-checkout"]
    assert 'class="tag on"' in filtered
    assert names_on(browser_client.get("/", {"tag": "Check"}).content.decode()) == []


def _many(count: int, start: int = 0) -> None:
    """``count`` capabilities, each with a tag, a REST expose with two operations and
    an MCP expose with three tools, made in bulk."""
    capabilities = m.Capability.objects.bulk_create(
        m.Capability(name=f"bulk-{i:05d}", label=f"Bulk {i}", description="Made in bulk")
        for i in range(start, start + count)
    )
    m.CapabilityTag.objects.bulk_create(
        m.CapabilityTag(capability=c, name=f"tag-{i % 7}") for i, c in enumerate(capabilities)
    )
    exposes = m.Expose.objects.bulk_create(
        [m.Expose(capability=c, type="rest", namespace=f"{c.name}-rest") for c in capabilities]
        + [m.Expose(capability=c, type="mcp", namespace=f"{c.name}-mcp") for c in capabilities]
    )
    rest = [e for e in exposes if e.type == "rest"]
    mcp = [e for e in exposes if e.type == "mcp"]
    resources = m.ExposedResource.objects.bulk_create(
        m.ExposedResource(expose=e, path="/things") for e in rest
    )
    m.ExposedOperation.objects.bulk_create(
        m.ExposedOperation(resource=r, method=method, name=method.lower())
        for r in resources
        for method in ("GET", "POST")
    )
    m.Tool.objects.bulk_create(
        m.Tool(expose=e, name=f"tool-{n}", position=n) for e in mcp for n in range(3)
    )


def _queries(client, **params) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/", params)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_a_constant_number_of_queries_at_10_and_at_1000_capabilities(browser_client):
    _many(10)
    few, page = _queries(browser_client)
    assert "<b>2</b> REST operations" in page and "<b>3</b> MCP tools" in page
    _many(990, start=10)
    many, page = _queries(browser_client)
    assert "1000 capabilities" in page
    assert many == few
    assert few <= 5  # count, page rows, their tags, the tag links
    # Searching and filtering by tag too.
    assert _queries(browser_client, q="bulk", tag="tag-3")[0] == few


def test_pages(browser_client):
    _many(45)
    first = browser_client.get("/").content.decode()
    assert len(names_on(first)) == 20
    assert names_on(first)[0] == "bulk-00000"
    assert "Page 1 of 3" in first and 'rel="next" href="?page=2"' in first
    last = browser_client.get("/", {"page": 3}).content.decode()
    assert names_on(last) == [f"bulk-{i:05d}" for i in range(40, 45)]
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # A page past the end or not a number: the nearest page, never an error.
    assert names_on(browser_client.get("/", {"page": 99}).content.decode()) == names_on(last)
    assert names_on(browser_client.get("/", {"page": "x"}).content.decode()) == names_on(first)
    # The tag and the search are kept from page to page.
    tagged = browser_client.get("/", {"tag": "tag-1", "q": "bulk"}).content.decode()
    assert len(names_on(tagged)) == 7 and 'class="pager"' not in tagged  # one page, no pager
    searched = browser_client.get("/", {"q": "bulk", "page": 2}).content.decode()
    assert 'href="?q=bulk&amp;page=3"' in searched and 'href="?q=bulk&amp;page=1"' in searched
