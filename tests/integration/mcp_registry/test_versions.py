"""A server's version and dates follow its capability (issue 13 point 4): the version is
stable while nothing changes and grows with every import that changes it and every
admin edit of any of its parts; ``updated_since`` compares when it last changed in the
registry, enabling included. Edits go through the real admin change forms."""

from __future__ import annotations

import pytest

from capabilities_app.store import editing
from capabilities_app.store.models import Capability, Tool
from tests.conftest import SHIPYARD, run_command
from tests.integration.mcp_registry.conftest import NAMESPACE, server_path
from tests.support.admin_forms import edit

pytestmark = pytest.mark.django_db

FLEET = f"{NAMESPACE}/fleet-tools"
OFFICIAL = "io.modelcontextprotocol.registry/official"


def latest(client, name: str = FLEET) -> dict:
    response = client.get(server_path(name, "/versions/latest"))
    assert response.status_code == 200, response.content
    return response.json()


def since(client, moment: str) -> list[str]:
    body = client.get("/v0.1/servers", {"updated_since": moment}).json()
    return [item["server"]["name"] for item in body["servers"]]


def import_fleet(*args: str, path=SHIPYARD) -> str:
    result = run_command("import_capability", *args, str(path))
    assert result.code == 0, result.stderr
    return result.stdout


def test_version_is_stable_while_nothing_changes(client, seeds):
    before = latest(client)
    assert "unchanged" in import_fleet()  # the same file again writes nothing
    assert latest(client) == before
    assert latest(client)["server"]["version"] == "1.0.1"


def test_an_import_that_changes_it_is_a_new_version(client, seeds, tmp_path):
    before = latest(client)
    changed = tmp_path / "shipyard-fleet.yaml"
    changed.write_text(SHIPYARD.read_text().replace("Tools over the demo", "Tools of the demo"))
    assert "updated" in import_fleet(path=changed)
    after = latest(client)
    assert after["server"]["version"] == "1.0.2"
    assert after["server"]["description"] == "Tools of the demo fleet registry."
    assert after["_meta"][OFFICIAL]["publishedAt"] > before["_meta"][OFFICIAL]["publishedAt"]
    assert since(client, before["_meta"][OFFICIAL]["updatedAt"]) == [FLEET]


def test_an_admin_edit_of_a_tool_is_a_new_version_and_moves_updated_at(staff, seeds):
    """Any part, not only the capability's own page: a tool's description."""
    before = latest(staff)
    moment = before["_meta"][OFFICIAL]["updatedAt"]
    assert since(staff, moment) == []  # strictly after: nothing yet
    tool = Tool.objects.get(name="get-ship", expose__namespace="fleet-tools")
    response = edit(staff, tool, {"description": "Edited in the admin"})
    assert response.status_code == 302
    after = latest(staff)
    assert after["server"]["version"] == "1.0.2"
    assert after["_meta"][OFFICIAL]["updatedAt"] > moment
    assert after["_meta"][OFFICIAL]["publishedAt"] == after["_meta"][OFFICIAL]["updatedAt"]
    assert since(staff, moment) == [FLEET]  # the other seeds did not change
    # A different part of another capability moves only that one.
    prefect = latest(staff, f"{NAMESPACE}/prefect-account-billing-mcp")
    consumes = Capability.objects.get(name="prefect-account-billing").consumes.get()
    assert edit(staff, consumes, {"description": "Edited upstream"}).status_code == 302
    assert since(staff, after["_meta"][OFFICIAL]["updatedAt"]) == [
        f"{NAMESPACE}/prefect-account-billing-mcp"
    ]
    assert latest(staff, f"{NAMESPACE}/prefect-account-billing-mcp")["server"]["version"] == "1.0.2"
    assert prefect["server"]["version"] == "1.0.1"


def test_saving_an_admin_page_unchanged_keeps_the_version(staff, seeds):
    before = latest(staff)
    fleet = Capability.objects.get(name="shipyard-fleet")
    assert edit(staff, fleet, {}).status_code == 302
    assert latest(staff) == before


def test_each_edit_grows_the_version(staff, seeds):
    tool = Tool.objects.get(name="get-ship", expose__namespace="fleet-tools")
    versions = []
    for text in ("one", "two", "three"):
        assert edit(staff, tool, {"description": text}).status_code == 302
        versions.append(latest(staff)["server"]["version"])
    assert versions == ["1.0.2", "1.0.3", "1.0.4"]


def test_an_import_over_an_edit_is_a_new_version_too(staff, seeds):
    tool = Tool.objects.get(name="get-ship", expose__namespace="fleet-tools")
    assert edit(staff, tool, {"description": "Edited"}).status_code == 302
    import_fleet("--force")
    assert latest(staff)["server"]["version"] == "1.0.3"


def test_disabling_and_enabling_keeps_the_version_and_moves_updated_at(client, seeds):
    before = latest(client)
    moment = before["_meta"][OFFICIAL]["updatedAt"]
    fleet = Capability.objects.filter(name="shipyard-fleet")
    editing.set_enabled(fleet, enabled=False)
    assert client.get(server_path(FLEET)).status_code == 404
    assert since(client, "2000-01-01T00:00:00Z") == [
        f"{NAMESPACE}/netbird-checkout-mcp",
        f"{NAMESPACE}/prefect-account-billing-mcp",
    ]
    editing.set_enabled(fleet, enabled=True)
    after = latest(client)
    assert after["server"] == before["server"]  # same document, same version
    assert after["_meta"][OFFICIAL]["publishedAt"] == before["_meta"][OFFICIAL]["publishedAt"]
    assert after["_meta"][OFFICIAL]["updatedAt"] > moment
    assert since(client, moment) == [FLEET]  # a mirror hears it is back


def test_enabling_an_enabled_capability_changes_nothing(client, seeds):
    before = latest(client)
    editing.set_enabled(Capability.objects.filter(name="shipyard-fleet"), enabled=True)
    assert latest(client) == before


def test_updated_since_takes_any_offset(client, seeds):
    moment = latest(client)["_meta"][OFFICIAL]["updatedAt"]  # ...Z
    assert since(client, "2000-01-01T00:00:00+02:00") == since(client, "2000-01-01T00:00:00Z")
    assert len(since(client, "2000-01-01T01:00:00+01:00")) == 3
    # An unencoded "+" arrives as a space: still read as the offset.
    response = client.get("/v0.1/servers?updated_since=2000-01-01T00:00:00+02:00")
    assert response.status_code == 200
    assert len(response.json()["servers"]) == 3
    assert since(client, moment) == []
    assert since(client, "2999-01-01T00:00:00.5Z") == []
