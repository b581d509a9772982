"""Issue 13 point 3.

The admin and the catalog point at each other, and the admin shows where the
registry serves each expose rather than the document's ports."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(settings, django_user_model) -> Client:
    settings.REGISTRY_PUBLIC_URL = "http://registry.test"
    settings.REGISTRY_MCP_PUBLIC_URL = "http://mcp.registry.test"
    django_user_model.objects.create_superuser("admin", "a@example.org", "pw-12345-abc")
    client = Client()
    client.login(username="admin", password="pw-12345-abc")
    return client


def test_view_site_and_view_on_site_lead_to_the_catalog(staff, seeds):
    prefect, _ = seeds
    assert admin.site.site_url == "/"
    assert prefect.get_absolute_url() == "/catalog/prefect-account-billing/"
    page = staff.get(f"/admin/capabilities_app/capability/{prefect.pk}/change/").content.decode()
    assert '<a href="/">View site</a>' in page
    assert "View on site" in page
    # The admin's "View on site" redirect lands on the capability's catalog page.
    view_on_site = staff.get(f"/admin/r/{_content_type(prefect)}/{prefect.pk}/", follow=False)
    assert view_on_site.status_code == 302
    assert view_on_site["Location"].endswith("/catalog/prefect-account-billing/")
    assert staff.get(view_on_site["Location"]).status_code == 200


def _content_type(obj) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


def test_the_admin_shows_served_urls_not_ports(staff, seeds):
    prefect, _ = seeds
    listing = staff.get("/admin/capabilities_app/capability/").content.decode()
    assert "http://registry.test/rest/prefect-account-billing-rest" in listing
    assert "http://mcp.registry.test/mcp/prefect-account-billing-mcp/mcp" in listing
    change = staff.get(f"/admin/capabilities_app/capability/{prefect.pk}/change/").content.decode()
    assert "http://registry.test/rest/prefect-account-billing-rest" in change
    assert "http://mcp.registry.test/mcp/prefect-account-billing-mcp/mcp" in change
    assert 'name="exposes-0-port"' not in change
    exposes = staff.get("/admin/capabilities_app/expose/").content.decode()
    assert "http://mcp.registry.test/mcp/netbird-checkout-mcp/mcp" in exposes
    assert ">8080<" not in exposes and ">9090<" not in exposes
