"""The admin in a real browser: Playwright drives Debian's Chromium against a live server.

These tests need ``/usr/bin/chromium`` (Debian's ``chromium`` package; Playwright's own
browser downloads are never used). Without it they are skipped, except on CI
(``CI=true``), where a missing browser is a failure rather than a silent skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.importer import import_documents, text_input
from tests.conftest import NETBIRD, PREFECT, SHIPYARD, run_command
from tests.integration.rest.conftest import load
from tests.support.browser import TIMEOUT_MS, admin_for_the_browser, chromium, log_in
from tests.support.upstream import Answer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.processes,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def page(live_server, settings, monkeypatch, django_user_model) -> Iterator:
    """A Chromium page, and an admin user to log in with."""
    admin_for_the_browser(settings, monkeypatch, django_user_model)
    with chromium() as browser:
        context = browser.new_context(base_url=live_server.url, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        yield context.new_page()
        context.close()


def test_edit_a_tool_description_and_export_it(page, tmp_path: Path) -> None:
    assert run_command("import_capability", str(PREFECT)).code == 0
    new_description = "Billing details of an account (edited in a browser)"
    log_in(page)

    page.click("#content-main tr.model-capability th a")  # the index's Capabilities link
    page.wait_for_selector("#changelist")
    page.get_by_role("link", name="prefect-account-billing", exact=True).click()
    page.wait_for_selector("table.overview")
    tools_table = page.locator("table.overview").nth(1)
    tools_table.get_by_role("link", name="get-billing-details", exact=True).click()

    page.wait_for_selector("#tool_form")
    assert page.input_value("#id_name") == "get-billing-details"
    page.fill("#id_description", new_description)
    page.locator("input[name=_save]").first.click()
    success = page.locator(".messagelist .success")
    success.wait_for()
    assert "was changed successfully" in success.inner_text()

    page.goto("/admin/capabilities_app/capability/")
    page.get_by_role("link", name="prefect-account-billing", exact=True).click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export YAML").click()
    download = download_info.value
    assert download.suggested_filename == "prefect-account-billing.yaml"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    exported = yaml.safe_load(saved.read_text())
    tools = {t["name"]: t for t in exported["capability"]["exposes"][1]["tools"]}
    assert tools["get-billing-details"]["description"] == new_description
    assert saved.read_text() == export_yaml(m.Capability.objects.get(name=PREFECT.stem))


def test_upload_a_document_on_the_import_page(page) -> None:
    log_in(page)
    page.goto("/admin/capabilities_app/capability/")
    page.get_by_role("link", name="Import YAML").click()
    page.wait_for_selector("#import-form")
    page.set_input_files("#id_files", str(NETBIRD))
    page.click("input[name=_import]")
    results = page.locator("#import-results")
    results.wait_for()
    assert "created netbird-checkout (1 operations, 1 tools)" in results.inner_text()
    assert "1 document: 1 created" in page.locator(".messagelist").inner_text()
    assert m.Capability.objects.filter(name="netbird-checkout").exists()


def test_saving_in_the_browser_keeps_multi_line_text(page) -> None:
    """Browsers post a textarea's line breaks as CRLF; the export must not change."""
    text = SHIPYARD.read_text()
    one_line = 'description: "Retrieve a ship\'s details by IMO number"'
    multi_line = "description: |\n            Retrieve a ship.\n            By IMO number."
    assert text.count(one_line) == 1
    report = import_documents(
        [text_input("fleet.yaml", text.replace(one_line, multi_line), max_bytes=10**6)]
    )
    assert report.ok
    capability = m.Capability.objects.get(name="fleet")
    before = export_yaml(capability)
    tool = m.Tool.objects.get(name="get-ship", expose__capability=capability)
    log_in(page)
    page.goto(f"/admin/capabilities_app/tool/{tool.pk}/change/")
    page.locator("input[name=_save]").first.click()
    page.locator(".messagelist .success").wait_for()
    tool.refresh_from_db()
    assert tool.description == "Retrieve a ship.\nBy IMO number.\n"
    assert export_yaml(capability) == before


def test_a_key_created_in_the_admin_calls_rest(
    page, live_server, upstream, keys_required, monkeypatch
) -> None:
    """Issue 10 point 1: a key created in the admin is shown once, in the answer to the
    save; that key calls ``/rest/`` (for what it was granted) against a real upstream."""
    monkeypatch.setenv("FLEET_TOKEN", "fleet-token")
    ship = {"imo_number": "IMO1", "vessel_name": "Browser", "operational_status": "active"}
    upstream.answer("GET", "/ships", Answer(200, [ship]))
    load(SHIPYARD, base_uri=upstream.url)
    log_in(page)

    page.goto("/admin/capabilities_app/clientkey/")
    page.get_by_role("link", name="Add client key").click()
    page.fill("#id_name", "browser-bot")
    page.fill("#id_owner", "browser team")
    page.fill("#id_grants-0-capability", "shipyard-fleet")
    page.fill("#id_grants-0-target", "list-ships")
    page.locator("input[name=_save]").first.click()
    key = page.input_value("#client-key")
    assert "shown once" in page.locator("#content-main").inner_text()

    ships = f"{live_server.url}/rest/fleet-api/ships"
    answer = httpx.get(ships, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"imo": "IMO1", "name": "Browser", "status": "active"}]
    assert upstream.only().header("authorization") == "Bearer fleet-token"  # not the key
    assert httpx.get(ships).status_code == 401
    not_granted = httpx.get(f"{ships}/IMO1", headers={"X-API-Key": key})
    assert not_granted.status_code == 403

    # Never shown again: not on the key's page, not in the list.
    page.get_by_role("link", name="The key's page").click()
    page.wait_for_selector("#clientkey_form")
    assert key not in page.content()
    assert key[:12] in page.content()
    page.goto("/admin/capabilities_app/clientkey/")
    assert key not in page.content()
    assert "browser-bot" in page.locator("#result_list").inner_text()
