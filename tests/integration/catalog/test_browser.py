"""Issue 13 point 3.

The catalog in a real browser: Playwright drives Debian's Chromium against a live
server, at 1400x900 and at a phone's width; screenshots go to var/screenshots/catalog/.

Needs ``/usr/bin/chromium`` (skipped without it, a failure on CI), as the admin's
browser tests (tests/integration/test_admin_browser.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import NETBIRD, PREFECT, ROOT
from tests.integration.rest.conftest import load
from tests.support.browser import TIMEOUT_MS, chromium

SCREENSHOTS = ROOT / "var" / "screenshots" / "catalog"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.processes,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(live_server, settings, monkeypatch) -> Iterator:
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    load(PREFECT)
    load(NETBIRD)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as launched:
        yield launched, live_server.url


def open_page(browser, width: int = 1400, height: int = 900):
    launched, url = browser
    context = launched.new_context(
        base_url=url, viewport={"width": width, "height": height}, java_script_enabled=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def test_index(browser):
    page = open_page(browser)
    page.goto("/")
    cards = page.locator("li.card")
    assert cards.count() == 2
    prefect = cards.filter(has_text="prefect-account-billing")
    assert prefect.locator(".rest-count").inner_text() == "8 REST operations"
    assert prefect.locator(".tool-count").inner_text() == "8 MCP tools"
    # The stylesheet is served and applied (no CDN, no script).
    topbar = page.eval_on_selector("header.topbar", "e => getComputedStyle(e).backgroundColor")
    assert topbar == "rgb(20, 33, 61)"
    page.screenshot(path=str(SCREENSHOTS / "index-1400.png"), full_page=True)

    page.fill("input[name=q]", "netbird")
    page.click("button[type=submit]")  # a plain GET form: works without JavaScript
    page.wait_for_url("**/?q=netbird")
    assert page.locator("li.card").count() == 1
    page.get_by_role("link", name="NetBird REST API — Checkout").click()
    page.wait_for_url("**/catalog/netbird-checkout/")


def test_prefect_page(browser):
    page = open_page(browser)
    page.goto("/catalog/prefect-account-billing/")
    assert page.locator("h1").inner_text() == "Prefect Cloud API — Account Billing"
    assert page.locator("article.rest-operation").count() == 8
    assert page.locator("article.mcp-tool").count() == 8
    details = page.locator('article.mcp-tool[data-tool="get-billing-details"]')
    assert details.locator(".badge").all_inner_texts() == ["read-only", "idempotent"]
    checkout = page.locator('article.mcp-tool[data-tool="get-checkout-link"]')
    assert checkout.locator(".badge").all_inner_texts() == ["read-only"]
    assert page.locator('article.mcp-tool[data-tool="update-slots"] .badge').count() == 0
    assert 'Authorization: \'"Bearer $REGISTRY_KEY"' in page.locator("pre.curl").first.inner_text()
    assert page.locator(".spec .highlight .nt").count() > 50  # highlighted on the server
    assert page.locator("#edit-in-admin").count() == 0  # not staff
    page.screenshot(path=str(SCREENSHOTS / "prefect-1400.png"), full_page=True)


def test_netbird_page_wide_and_narrow(browser):
    page = open_page(browser)
    page.goto("/catalog/netbird-checkout/")
    assert page.locator("article.rest-operation").count() == 1
    assert page.locator("article.mcp-tool").count() == 1
    assert page.locator("pre.mcp-url").inner_text().endswith("/mcp/netbird-checkout-mcp/mcp")
    page.screenshot(path=str(SCREENSHOTS / "netbird-1400.png"), full_page=True)

    narrow = open_page(browser, width=390, height=844)
    narrow.goto("/catalog/netbird-checkout/")
    # Nothing wider than the screen but what scrolls inside its own box (code).
    width = narrow.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    narrow.screenshot(path=str(SCREENSHOTS / "netbird-390.png"), full_page=True)
