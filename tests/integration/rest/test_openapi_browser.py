"""Issue 13 point 2: a generated Swagger page in a real browser (Playwright, Debian's
Chromium), against a live server: its own scripts run under its policy, with no CDN and
no policy violation; screenshots go to ``var/screenshots/openapi/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, SHIPYARD
from tests.integration.rest.conftest import load
from tests.support.browser import TIMEOUT_MS, chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.processes,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = ROOT / "var" / "screenshots" / "openapi"


def test_the_swagger_page_shows_every_operation(live_server, settings, monkeypatch):
    """Issue 13 point 2: /rest/<namespace>/docs renders the expose's operations with
    Swagger UI from the registry's static files, and the browser reports no blocked
    script, style or request."""
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    load(SHIPYARD)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    problems: list[str] = []
    with chromium() as browser:
        page = browser.new_page(base_url=live_server.url)
        page.set_default_timeout(TIMEOUT_MS)
        page.on("request", lambda r: requested.append(r.url))
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        response = page.goto("/rest/fleet-api/docs")
        assert response is not None and response.status == 200
        page.locator(".opblock-summary-path").first.wait_for()
        shown = page.locator(".opblock-summary-path").all_inner_texts()
        assert sorted(t.replace("\u200b", "") for t in shown) == ["/ships", "/ships/{imo}"]
        assert page.locator(".info .title").inner_text().startswith("Shipyard Fleet")
        page.screenshot(path=str(SCREENSHOTS / "fleet-api-docs.png"), full_page=True)
        page.locator(".opblock-summary-path", has_text="/ships/{imo}").click()
        page.get_by_text("IMO number", exact=True).first.wait_for()
        page.screenshot(path=str(SCREENSHOTS / "fleet-api-get-ship.png"), full_page=True)
    assert problems == []  # a CSP violation is a console error
    origin = live_server.url
    assert all(url.startswith(origin) or url.startswith("data:") for url in requested), requested
    assert any(url.endswith("/rest/fleet-api/openapi.json") for url in requested)
    assert Path(SCREENSHOTS / "fleet-api-docs.png").stat().st_size > 0
