"""The part pages in a real browser (Debian's Chromium through Playwright) at 1,400 by 900:
a tool edited field by field returns to its capability; screenshots of the index, an
expose page and a tool page go to ``var/screenshots/admin/`` (``parts-*.png``) for a
person to look at.

Skipped without ``/usr/bin/chromium`` except on CI (as ``tests/integration/test_admin_browser.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from tests.conftest import PREFECT, run_command
from tests.support.admin_forms import change_url
from tests.support.browser import TIMEOUT_MS, admin_for_the_browser, chromium, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.processes,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "admin"
WIDTH, HEIGHT = 1400, 900
PREFECT_NAME = "prefect-account-billing"
TOOL = "get-billing-details"
CLEAR = "\u00d7"  # select2's clear button, before the chosen option's text
CRUMB = "\u203a"  # between breadcrumbs


@pytest.fixture
def page(live_server, settings, monkeypatch, django_user_model) -> Iterator:
    """A Chromium page of 1,400 by 900, and an admin user to log in with."""
    admin_for_the_browser(settings, monkeypatch, django_user_model)
    with chromium() as browser:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": WIDTH, "height": HEIGHT}
        )
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
        context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"parts-{name}.png"), full_page=True)


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_edit_a_tool_field_by_field_and_return_to_its_capability(page) -> None:
    assert run_command("import_capability", str(PREFECT)).code == 0
    capability = m.Capability.objects.get(name=PREFECT_NAME)
    tool = m.Tool.objects.get(expose__capability=capability, name=TOOL)
    new_description = "Billing details of an account (edited field by field)"
    log_in(page)

    # The index: capabilities, jobs, client keys; the lists across capabilities below.
    rows = page.locator("#content-main tr[class^=model-] th").all_inner_texts()
    assert rows[:3] == ["Capabilities", "Jobs", "Client keys"]
    assert "Registry states" not in page.content()
    screenshot(page, "index")

    page.get_by_role("link", name="All MCP tools").click()
    page.wait_for_selector("#changelist")
    page.get_by_role("link", name=TOOL, exact=True).click()
    page.wait_for_selector("#tool_form")

    # Its expose by name (select2 shows the chosen option), steps empty (not "null").
    expose = page.locator(".field-expose .select2-selection__rendered")
    assert expose.inner_text().strip().lstrip(CLEAR).strip() == (
        f"mcp:prefect-account-billing-mcp ({PREFECT_NAME})"
    )
    assert page.input_value("#id_steps") == ""
    assert page.input_value("#id_output_parameters").startswith("- ")
    breadcrumbs = page.locator(".breadcrumbs").inner_text()
    assert breadcrumbs.split(CRUMB)[:3] == ["Home ", " Capabilities ", f" {PREFECT_NAME} "]
    assert scroll_width(page) <= WIDTH
    screenshot(page, "tool")

    page.fill("#id_description", new_description)
    page.locator("input[name=_save]").first.click()
    page.wait_for_url(f"**{change_url(capability)}")
    success = page.locator(".messagelist .success")
    assert "was changed successfully" in success.inner_text()
    tool.refresh_from_db()
    assert tool.description == new_description
    exported = yaml.safe_load(export_yaml(capability))
    tools = {t["name"]: t for t in exported["capability"]["exposes"][1]["tools"]}
    assert tools[TOOL]["description"] == new_description


def test_the_expose_page_names_its_tools_calls(page) -> None:
    assert run_command("import_capability", str(PREFECT)).code == 0
    capability = m.Capability.objects.get(name=PREFECT_NAME)
    tool = m.Tool.objects.get(expose__capability=capability, name=TOOL)
    log_in(page)
    page.goto(change_url(tool))
    page.wait_for_selector("#tool_form")
    # The breadcrumb to the tool's expose.
    page.locator(".breadcrumbs").get_by_role("link", name=f"mcp:{PREFECT_NAME}-mcp").click()
    page.wait_for_selector("#expose_form")
    calls = page.locator("#tools-group .field-call .select2-selection__rendered")
    assert calls.count() == 8
    shown = [text.strip().lstrip(CLEAR).strip() for text in calls.all_inner_texts()]
    expected = [
        t.call.call_name
        for t in m.Tool.objects.filter(expose=tool.expose).select_related(
            "call__resource__consumes"
        )
    ]
    assert shown == expected
    assert page.locator("#tools-0-call, #id_tools-0-call").get_attribute("aria-label") == (
        "Call (tool 1)"
    )
    assert scroll_width(page) <= WIDTH  # a wide inline table scrolls in its own box
    screenshot(page, "expose")
