"""What an MCP client sees change while the server runs: admin edits and imports."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest
from mcp import Client

from tests.conftest import PREFECT, SHIPYARD
from tests.integration.mcp.conftest import run, with_client
from tests.support.admin_forms import form_fields

pytestmark = pytest.mark.processes  # see tests/conftest.py

ADMIN_PASSWORD = "admin-test-password-42"


def log_in(web: str) -> httpx.Client:
    client = httpx.Client(base_url=web, follow_redirects=False)
    page = client.get("/admin/login/")
    token = client.cookies["csrftoken"]
    assert page.status_code == 200
    response = client.post(
        "/admin/login/?next=/admin/",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"referer": f"{web}/admin/login/"},
    )
    assert response.status_code == 302, response.text[:500]
    return client


def edit_in_the_admin(web: str, change_path: str, changes: dict[str, str]) -> None:
    """Change fields on an admin change page through the real admin, over HTTP."""
    client = log_in(web)
    page = client.get(change_path)
    assert page.status_code == 200
    data = form_fields(page.text)
    for name, value in changes.items():
        data[name] = [value]
    data["_save"] = ["Save"]
    response = client.post(change_path, data=data, headers={"referer": f"{web}{change_path}"})
    assert response.status_code == 302, response.text[:2000]


def tool_pk(registry, name: str) -> str:
    code = (
        f"from capabilities_app.store.models import Tool; print(Tool.objects.get(name={name!r}).pk)"
    )
    return registry.manage("shell", "-c", code).stdout.strip().splitlines()[-1]


def test_an_admin_edit_shows_on_the_next_tools_list(registry, mcp_url):
    registry.env["DJANGO_SUPERUSER_PASSWORD"] = ADMIN_PASSWORD
    registry.manage(
        "createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.org"
    )
    web = registry.start_web()

    def description() -> str:
        tools = run(with_client(f"{mcp_url}/mcp/fleet-tools", lambda c: c.list_tools()))
        return {t.name: t.description for t in tools.tools}["get-ship"]

    assert description() == "Retrieve a ship's details by IMO number"
    pk = tool_pk(registry, "get-ship")
    edit_in_the_admin(
        web,
        f"/admin/capabilities_app/tool/{pk}/change/",
        {"description": "Look a ship up by its IMO number"},
    )
    # The server checks the version stamp every REGISTRY_CATALOG_CHECK_SECONDS (0.2 s here).
    time.sleep(0.3)
    assert description() == "Look a ship up by its IMO number"


def test_a_connected_session_hears_that_the_tools_changed(registry, mcp_url, mcp_upstream):
    """A live 2025-11-25 session gets notifications/tools/list_changed after an import."""
    heard: list[str] = []

    async def listen(message) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method:
            heard.append(method)

    async def scenario() -> list[str]:
        async with Client(
            f"{mcp_url}/mcp/prefect-account-billing-mcp", mode="legacy", message_handler=listen
        ) as client:
            await client.list_tools()
            changed = PREFECT.read_text().replace("Get Billing Details", "Read the billing details")
            await anyio.to_thread.run_sync(
                lambda: registry.import_document(
                    changed, name="prefect-account-billing", base_uri=mcp_upstream.url
                )
            )
            with anyio.move_on_after(10):
                while "notifications/tools/list_changed" not in heard:
                    await anyio.sleep(0.05)
            tools = await client.list_tools()
            return [t.description for t in tools.tools]

    descriptions = run(scenario())
    assert "notifications/tools/list_changed" in heard
    assert "Read the billing details" in descriptions


def test_a_2026_listener_hears_that_the_tools_changed(registry, mcp_url, mcp_upstream):
    """A 2026-07-28 client opts in with subscriptions/listen and gets the change event."""

    async def scenario() -> list[str]:
        async with Client(f"{mcp_url}/mcp/fleet-tools", mode="2026-07-28") as client:
            async with client.listen(tools_list_changed=True) as subscription:
                changed = SHIPYARD.read_text().replace("List ships of the fleet", "List every ship")
                # force: the first test of the module edited shipyard-fleet in the admin, and
                # an import refuses to overwrite such an edit silently (issue 9 point 24).
                await anyio.to_thread.run_sync(
                    lambda: registry.import_document(
                        changed, name="shipyard-fleet", base_uri=mcp_upstream.url, force=True
                    )
                )
                events = []
                with anyio.move_on_after(10):
                    async for event in subscription:
                        events.append(type(event).__name__)
                        break
            tools = await client.list_tools()
            return events, [t.description for t in tools.tools]

    events, descriptions = run(scenario())
    assert events == ["ToolsListChanged"]
    assert "List every ship, optionally filtered by status" in descriptions


def test_an_imported_namespace_is_served_without_restart(registry, mcp_url, tmp_path):
    document = (
        SHIPYARD.read_text()
        .replace("fleet-api", "fleet-api-2")
        .replace("fleet-tools", "fleet-tools-2")
    )
    path = tmp_path / "fleet-two.yaml"
    path.write_text(document)
    assert httpx.post(f"{mcp_url}/mcp/fleet-tools-2", json={}).status_code == 404
    registry.manage("import_capability", str(path))
    time.sleep(0.3)
    tools = run(with_client(f"{mcp_url}/mcp/fleet-tools-2", lambda c: c.list_tools()))
    assert {t.name for t in tools.tools} == {"list-ships", "get-ship"}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_the_stateless_server(registry, mode):
    url = registry.start_mcp("--stateless")

    async def use(client):
        tools = await client.list_tools()
        result = await client.call_tool("get-ship", {"imo": "IMO-7"})
        return tools, result

    tools, result = run(with_client(f"{url}/mcp/fleet-tools", use, mode))
    assert {t.name for t in tools.tools} >= {"get-ship"}
    assert result.is_error is False
