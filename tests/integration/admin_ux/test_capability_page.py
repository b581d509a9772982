"""The capability page at a glance (issue 14 point 1): what the summary shows for both
seeds, that it shows no secret, recent jobs, and a bounded number of queries."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capabilities_app.store import models as m
from capabilities_app.store import served
from capabilities_app.store.importer import import_documents, text_input
from capabilities_app.store.summary import summarize, without_userinfo
from tests.integration.admin_ux.conftest import change_url, yaml_url
from tests.support.documents import generate

pytestmark = pytest.mark.django_db


def glance_of(page: str) -> str:
    """The summary section of a change page, as text with tags kept."""
    found = re.search(r'<section class="glance".*?</section>', page, re.S)
    assert found, "no summary on the page"
    return html.unescape(found.group(0))


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


def test_prefect_summary(staff, prefect) -> None:
    page = staff.get(change_url(prefect)).content.decode()
    glance = glance_of(page)
    text = text_of(glance)
    assert "Prefect Cloud API — Account Billing" in text
    assert "8 operations. Lead operation: Cancel Org Subscription At Period End." in text
    assert "<li>Prefect</li>" in glance and "<li>Account Billing</li>" in glance
    assert "enabled" in text
    # The upstream: its namespace; Prefect's document has an empty base URI.
    assert "prefect-account-billing" in text
    assert "no base URI" in text
    assert "auth: none" in text
    # Each REST operation as method and served URL (not the document's port).
    rest = served.rest_url("prefect-account-billing-rest", "/v1/api/billing/{account-id}/details")
    assert f"GET {rest}" in text
    assert len(re.findall(r'<span class="method method-', glance)) == 8
    assert "8080" not in text  # the document's own port is not where it is served
    # Each tool with its true hints only, and its served URL.
    mcp = served.mcp_url("prefect-account-billing-mcp")
    tools = re.findall(r'<ul class="glance-list glance-tools">(.*?)</ul>', glance, re.S)[0]
    details = re.search(r"get-billing-details</strong></a>(.*?)</li>", tools, re.S).group(1)
    assert re.findall(r'badge hint">([^<]+)<', details) == ["read-only", "idempotent"]
    assert mcp in details
    cancel = re.search(
        r"cancel-org-subscription-period-end</strong></a>(.*?)</li>", tools, re.S
    ).group(1)
    assert "badge hint" not in cancel  # all three hints false: no badge
    # Links: export, validate, catalog page, REST docs (Edit as YAML is the page's tab).
    assert f'href="{yaml_url(prefect)}"' in page
    assert f'href="/admin/capabilities_app/capability/{prefect.pk}/export/"' in glance
    assert f'href="/admin/capabilities_app/capability/{prefect.pk}/validate/"' in glance
    assert f'href="{served.catalog_url(prefect.name)}"' in glance
    assert f'href="{served.rest_docs_url("prefect-account-billing-rest")}"' in glance
    assert "Recent jobs" not in text  # none yet


def test_netbird_summary(staff, netbird) -> None:
    glance = glance_of(staff.get(change_url(netbird)).content.decode())
    text = text_of(glance)
    assert "NetBird REST API — Checkout" in text
    assert "https://api.netbird.io" in text
    assert "auth: bearer" in text
    url = served.rest_url("netbird-checkout-rest", "/v1/api/integrations/billing/checkout")
    assert f"POST {url}" in text
    assert "create-checkout-session" in text
    assert "badge hint" not in glance  # every hint false
    assert served.mcp_url("netbird-checkout-mcp") in text
    assert f'href="{served.rest_docs_url("netbird-checkout-rest")}"' in glance


def test_summary_shows_no_secret(staff, netbird, monkeypatch) -> None:
    monkeypatch.setenv("NETBIRD_API_KEY", "nb-env-secret-777")
    m.Consumes.objects.filter(capability=netbird).update(
        base_uri="https://billing-user:pa55-w0rd-9@api.netbird.io/v2",
        authentication={"type": "apikey", "key": "X-Key", "value": "literal-key-4242"},
    )
    page = staff.get(change_url(netbird)).content.decode()
    glance = glance_of(page)
    assert "https://api.netbird.io/v2" in glance
    assert "auth: apikey" in glance
    for secret in ("pa55-w0rd-9", "billing-user", "literal-key-4242", "nb-env-secret-777"):
        assert secret not in glance


def test_without_userinfo() -> None:
    assert without_userinfo("https://u:p@h.example/x?y=1") == "https://h.example/x?y=1"
    assert without_userinfo("https://h.example/a@b") == "https://h.example/a@b"
    assert without_userinfo("{{BASE}}") == "{{BASE}}"
    assert without_userinfo(None) is None


def test_disabled_capability_says_so_and_links_no_catalog_page(staff, netbird) -> None:
    m.Capability.objects.filter(pk=netbird.pk).update(enabled=False)
    glance = glance_of(staff.get(change_url(netbird)).content.decode())
    assert "disabled: not served" in glance
    assert served.catalog_url(netbird.name) not in glance


def test_recent_jobs(staff, netbird) -> None:
    statuses = ["succeeded", "failed", "queued", "running", "cancelled", "succeeded"]
    for i, status in enumerate(statuses):
        m.Job.objects.create(
            capability=netbird,
            kind="rest",
            namespace="netbird-checkout-rest",
            target="/v1/api/integrations/billing/checkout",
            method="POST",
            status=status,
            params={"arguments": {"body": {"card": f"4111-secret-{i}"}}},
        )
    summary = summarize(netbird)
    assert len(summary.jobs) == 5  # the last five, newest first
    assert summary.jobs[0].status == "succeeded"
    glance = glance_of(staff.get(change_url(netbird)).content.decode())
    assert "Recent jobs" in glance
    assert len(re.findall(r'class="badge job-', glance)) == 5
    assert "POST /v1/api/integrations/billing/checkout" in glance
    assert "4111-secret" not in glance  # never a job's parameters


def test_validate_link_names_the_capability(staff, prefect) -> None:
    response = staff.get(f"/admin/capabilities_app/capability/{prefect.pk}/validate/", follow=True)
    (message,) = [str(msg) for msg in response.context["messages"]]
    assert message.startswith("Validated “prefect-account-billing”: valid with ")
    assert "Validated “prefect-account-billing”" in html.unescape(response.content.decode())


def _generated(n: int) -> m.Capability:
    max_bytes = django_settings.REGISTRY_MAX_DOCUMENT_BYTES
    report = import_documents([text_input(f"bench-{n}.yaml", generate(n), max_bytes=max_bytes)])
    assert report.ok, [str(e) for o in report.outcomes for e in o.errors]
    return m.Capability.objects.get(name=f"bench-{n}")


def _queries(staff, capability: m.Capability) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(change_url(capability))
    assert response.status_code == 200
    assert response.content.decode().count('class="method method-post"') == int(
        capability.name.split("-")[1]
    )
    return len(queries)


def test_query_count_is_bounded_at_100_operations(staff, django_assert_max_num_queries) -> None:
    small, large = _generated(10), _generated(100)
    staff.get(change_url(small))  # warm: the session, the content types
    at_10, at_100 = _queries(staff, small), _queries(staff, large)
    assert at_100 == at_10, (at_10, at_100)
    with django_assert_max_num_queries(40):
        staff.get(change_url(large))
