"""``manage.py export_server_json``: one valid ``server.json`` per server, the API's
documents byte for byte in content (issue 13 point 4)."""

from __future__ import annotations

import json

import pytest

from capabilities_app.store.models import Capability, Expose
from tests.conftest import run_command
from tests.integration.mcp_registry.conftest import NAMESPACE, schema_errors, server_path

pytestmark = pytest.mark.django_db

NAMESPACES = ["fleet-tools", "netbird-checkout-mcp", "prefect-account-billing-mcp"]


def written(out) -> dict[str, dict]:
    return {
        path.parent.name: json.loads(path.read_text()) for path in sorted(out.glob("*/server.json"))
    }


def test_writes_every_server_valid_and_as_the_api_gives_it(client, seeds, tmp_path):
    out = tmp_path / "out"
    result = run_command("export_server_json", "--out", str(out))
    assert result.code == 0, result.stderr
    files = written(out)
    assert sorted(files) == NAMESPACES
    for namespace, document in files.items():
        assert schema_errors(document) == []
        api = client.get(server_path(f"{NAMESPACE}/{namespace}", "/versions/latest")).json()
        assert document == api["server"]
        assert f"{NAMESPACE}/{namespace} 1.0.1 -> {out / namespace / 'server.json'}" in (
            result.stdout
        )
    assert [p.name for p in out.rglob("*") if p.is_file()] == ["server.json"] * 3  # no temp files


def test_names_pick_servers(seeds, tmp_path):
    out = tmp_path / "out"
    result = run_command("export_server_json", "--out", str(out), f"{NAMESPACE}/fleet-tools")
    assert result.code == 0, result.stderr
    assert sorted(written(out)) == ["fleet-tools"]
    # An expose namespace alone names its server too.
    result = run_command("export_server_json", "--out", str(out), "netbird-checkout-mcp")
    assert result.code == 0, result.stderr
    assert sorted(written(out)) == ["fleet-tools", "netbird-checkout-mcp"]


def test_an_unknown_name_writes_nothing(seeds, tmp_path):
    out = tmp_path / "out"
    result = run_command("export_server_json", "--out", str(out), "fleet-tools", "no-such-tools")
    assert result.code == 1
    assert "no MCP server named 'com.example.registry/no-such-tools'" in result.stderr
    assert not out.exists()


def test_a_disabled_capability_is_not_written(seeds, tmp_path):
    Capability.objects.filter(name="shipyard-fleet").update(enabled=False)
    out = tmp_path / "out"
    assert run_command("export_server_json", "--out", str(out)).code == 0
    assert sorted(written(out)) == NAMESPACES[1:]
    assert run_command("export_server_json", "--out", str(out), "fleet-tools").code == 1


def test_a_namespace_no_server_name_can_carry_is_skipped_and_said(seeds, tmp_path, settings):
    """A namespace set in the admin may hold what the MCP Registry's name pattern refuses."""
    Expose.objects.filter(namespace="fleet-tools").update(namespace="fleet tools")
    out = tmp_path / "out"
    result = run_command("export_server_json", "--out", str(out))
    assert result.code == 0
    assert "skipped MCP expose 'fleet tools'" in result.stderr
    assert sorted(written(out)) == NAMESPACES[1:]


def test_nothing_to_write_is_said(namespace, tmp_path):
    result = run_command("export_server_json", "--out", str(tmp_path / "out"))
    assert result.code == 0
    assert "nothing written" in result.stderr
