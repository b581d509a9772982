"""The capability's admin pages in a real browser at 1,400 x 900 (issue 14 points 1, 2
and 4): both seeds' summaries without sideways scrolling, editing as YAML with an error
(shown at its line, nothing written) then a valid edit REST serves next, the keyboard
in the editor, the textarea without JavaScript, and the Import page's results.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, never a downloaded
browser) against a live server; screenshots go to ``var/screenshots/admin/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from tests.conftest import NETBIRD, PREFECT, ROOT, database_state, run_command
from tests.integration.rest.conftest import load
from tests.support.browser import TIMEOUT_MS, admin_for_the_browser, chromium, log_in

SCREENSHOTS = ROOT / "var" / "screenshots" / "admin"
WIDTH, HEIGHT = 1400, 900
CHECKOUT = "/v1/api/integrations/billing/checkout"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.processes,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(live_server, settings, monkeypatch, django_user_model) -> Iterator:
    """Debian's Chromium, and an admin user to log in with."""
    admin_for_the_browser(settings, monkeypatch, django_user_model)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as launched:
        yield launched


def new_page(browser, live_server, *, javascript: bool = True):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": WIDTH, "height": HEIGHT},
        java_script_enabled=javascript,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("seed", [PREFECT, NETBIRD], ids=lambda p: p.stem)
def test_capability_page_shows_the_summary_within_1400px(browser, live_server, seed) -> None:
    assert run_command("import_capability", str(seed)).code == 0
    capability = m.Capability.objects.get(name=seed.stem)
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(f"/admin/capabilities_app/capability/{capability.pk}/change/")
    glance = page.locator("#capability-glance")
    glance.wait_for()
    assert capability.label in glance.inner_text()
    assert glance.locator(".glance-operations li").count() == (8 if seed == PREFECT else 1)
    assert glance.is_visible()
    # The summary is the first thing on the page: it starts within the first screen.
    assert glance.bounding_box()["y"] < HEIGHT / 2
    shot(page, f"{seed.stem}-capability")
    assert scroll_width(page) <= WIDTH, scroll_width(page)


def test_edit_as_yaml_error_then_a_valid_edit_served_by_rest(
    browser, live_server, upstream, monkeypatch
) -> None:
    monkeypatch.setenv("NETBIRD_API_KEY", "nb-key-123")
    capability = load(NETBIRD, base_uri=upstream.url)
    text = export_yaml(capability)
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(f"/admin/capabilities_app/capability/{capability.pk}/change/")
    page.get_by_role("link", name="Edit as YAML").first.click()
    page.locator(".ace_editor").wait_for()
    assert page.evaluate("window.yamlEditor.getValue()") == text
    assert page.locator("textarea.yaml-source").is_hidden()  # Ace over it
    # Line numbers; YAML keys highlighted once Ace has loaded its YAML mode.
    page.locator(".ace_gutter-cell").nth(20).wait_for()
    page.locator(".ace_meta.ace_tag").first.wait_for()
    shot(page, "netbird-checkout-yaml")

    # An error: the request is refused, the error shown at its line, nothing written.
    broken = text.replace("method: POST", "method: FETCH", 1)
    line = next(i for i, x in enumerate(broken.splitlines(), 1) if "method: FETCH" in x)
    state = database_state()
    page.evaluate("text => window.yamlEditor.setValue(text, -1)", broken)
    page.locator("input[name=_save_yaml]").click()
    errors = page.locator("#yaml-errors")
    errors.wait_for()
    assert re.match(rf"{line}:\d+ ", errors.locator("li").first.inner_text())
    page.locator(".ace_gutter-cell.ace_error").first.wait_for()
    assert page.locator(".ace_gutter-cell.ace_error").first.inner_text().strip() == str(line)
    assert page.evaluate("window.yamlEditor.getValue()") == broken  # kept for fixing
    shot(page, "netbird-checkout-yaml-error")
    assert scroll_width(page) <= WIDTH
    assert database_state() == state

    # A valid edit: saved, back on the capability, served by REST next.
    edited = text.replace(f"path: {CHECKOUT}\n", "path: /v2/checkout\n", 1)
    page.evaluate("text => window.yamlEditor.setValue(text, -1)", edited)
    page.locator("input[name=_save_yaml]").click()
    page.locator(".messagelist .success").wait_for()
    assert "/change/" in page.url
    assert "Saved “netbird-checkout” from its YAML" in page.locator(".messagelist").inner_text()
    assert "/v2/checkout" in page.locator("#capability-glance").inner_text()
    shot(page, "netbird-checkout-after-yaml-save")
    answer = httpx.post(
        f"{live_server.url}/rest/netbird-checkout-rest/v2/checkout", json={"plan": "team"}
    )
    assert answer.status_code == 200, answer.text
    assert upstream.received[-1].path == "/api/integrations/billing/checkout"
    assert upstream.received[-1].header("authorization") == "Bearer nb-key-123"
    old = httpx.post(f"{live_server.url}/rest/netbird-checkout-rest{CHECKOUT}", json={})
    assert old.status_code == 404


def test_the_editor_by_keyboard(browser, live_server) -> None:
    """Tab indents inside the editor; Esc leaves the text, then Tab moves on."""
    assert run_command("import_capability", str(NETBIRD)).code == 0
    capability = m.Capability.objects.get(name="netbird-checkout")
    page = new_page(browser, live_server)
    log_in(page)
    page.goto(f"/admin/capabilities_app/capability/{capability.pk}/yaml/")
    page.locator(".ace_editor").wait_for()
    page.get_by_text("Document (YAML)", exact=True).click()  # the label focuses the editor
    page.keyboard.press("Control+Home")
    page.keyboard.press("Tab")
    assert page.evaluate("window.yamlEditor.getValue()").startswith("  naftiko:")
    assert page.evaluate("window.yamlEditor.isFocused()")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert not page.evaluate("window.yamlEditor.isFocused()")
    assert page.evaluate("document.activeElement.name") == "_save_yaml"


def test_without_javascript_the_textarea_saves(browser, live_server) -> None:
    assert run_command("import_capability", str(NETBIRD)).code == 0
    capability = m.Capability.objects.get(name="netbird-checkout")
    page = new_page(browser, live_server, javascript=False)
    log_in(page)
    page.goto(f"/admin/capabilities_app/capability/{capability.pk}/yaml/")
    textarea = page.get_by_label("Document (YAML)")
    assert textarea.is_visible()
    edited = textarea.input_value().replace(
        "description: Create checkout session", "description: Checkout, saved without JS", 1
    )
    textarea.fill(edited)
    page.locator("input[name=_save_yaml]").click()
    page.locator(".messagelist .success").wait_for()
    shot(page, "netbird-checkout-no-js-saved")
    capability.refresh_from_db()
    assert "Checkout, saved without JS" in export_yaml(capability)


def test_import_page_results_wrap(browser, live_server) -> None:
    page = new_page(browser, live_server)
    log_in(page)
    page.goto("/admin/capabilities_app/capability/import/")
    page.set_input_files("#id_files", [str(PREFECT), str(NETBIRD)])
    page.check("#id_strict")
    page.click("input[name=_import]")
    results = page.locator("#import-results")
    results.wait_for()
    assert results.locator("h3.import-file").all_inner_texts() == [PREFECT.name, NETBIRD.name]
    shot(page, "import-strict-errors")
    assert scroll_width(page) <= WIDTH, scroll_width(page)
    for block in results.locator("pre").all():  # nothing clipped on the right
        assert block.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert not m.Capability.objects.exists()
