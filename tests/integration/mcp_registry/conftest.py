"""The MCP Registry API's fixtures: the seeds and small made-up capabilities, imported
with the real command; the API read through Django's test client."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest

from capabilities_app.store.serverjson import SCHEMA_FILE
from tests.conftest import NETBIRD, PREFECT, ROOT, SHIPYARD, run_command

SCHEMA = ROOT / "capabilities_app" / "schemas" / SCHEMA_FILE
SEEDS = (PREFECT, NETBIRD, SHIPYARD)
NAMESPACE = "com.example.registry"


def small(name: str, *, label: str = "", description: str = "", authentication: str = "") -> str:
    """A capability with one MCP expose ``<name>-tools`` (one tool) and a REST one."""
    return f"""\
naftiko: 1.0.0-alpha2
info:
  label: {label or f"Capability {name}"}
  description: {description or f"The {name} capability."}
capability:
  consumes:
  - type: http
    namespace: {name}-up
    baseUri: https://{name}.example
    resources:
    - name: items
      path: /items
      operations:
      - name: list-items
        method: GET
  exposes:
  - type: rest
    namespace: {name}-api
    port: 8080
    resources:
    - path: /items
      operations:
      - method: GET
        call: {name}-up.list-items
  - type: mcp
    namespace: {name}-tools
    port: 9090
{authentication}    tools:
    - name: list-items
      description: List the items
      call: {name}-up.list-items
"""


def import_text(folder: Path, name: str, text: str, *args: str) -> str:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    result = run_command("import_capability", *args, str(path))
    assert result.code == 0, result.stderr
    return result.stdout


@pytest.fixture
def namespace(settings) -> str:
    settings.REGISTRY_MCP_NAMESPACE = NAMESPACE
    settings.REGISTRY_MCP_PUBLIC_URL = "https://mcp.example.test"
    settings.REGISTRY_PUBLIC_URL = "https://registry.example.test"
    return NAMESPACE


@pytest.fixture
def seeds(namespace) -> None:
    for path in SEEDS:
        result = run_command("import_capability", str(path))
        assert result.code == 0, result.stderr


def get(client, path: str, **query: Any):
    return client.get(path, query)


def server_path(name: str, suffix: str = "/versions") -> str:
    """The path of a server as the reference writes it: the name URL-encoded (%2F)."""
    return f"/v0.1/servers/{quote(name, safe='')}{suffix}"


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Errors of ``document`` against the vendored schema, by the jsonschema package (the
    registry itself validates with jsonschema-rs: two implementations agree)."""
    import json

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [error.message for error in validator.iter_errors(document)]
