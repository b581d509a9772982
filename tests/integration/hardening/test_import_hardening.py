"""Importing and editing capabilities without surprises (issue 9 points 20, 22 and 24).

- 20: a ``with`` reference to a caller parameter the tool or operation does not declare
  is an error in strict mode and on the admin's forms, a located warning otherwise.
- 22: a lenient import keeps what it cannot serve (unknown expose and consumes types,
  a consumes namespace declared again, a ``call`` to an operation the file lacks) as
  written, serves the rest, and answers a call to a broken part with 503 naming it.
- 24: an import over a capability edited in the admin since its last import refuses
  unless forced, naming what would be overwritten; ``--keep-edited`` skips it.

Everything runs through the real commands, the admin (Django's test client as a staff
user), the REST surface, and an MCP server process driven by the SDK's client.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from tests.conftest import CORPUS, FIXTURES, ROOT, SHIPYARD, database_state, run_command
from tests.integration.hardening.conftest import load
from tests.integration.mcp.conftest import run, with_client
from tests.support.admin_forms import change_url, edit, form_fields
from tests.support.registry_process import RegistryProcess
from tests.support.upstream import RecordingUpstream

pytestmark = pytest.mark.django_db

CLOUDFLARE = CORPUS / "api-evangelist__cloudflare" / "cloudflare-agent-onboarding.yaml"
FACTSET = CORPUS / "api-evangelist__factset" / "company-research.yaml"
UPBOUND = CORPUS / "api-evangelist__upbound" / "platform-engineering.yaml"
IMPORT_URL = reverse("admin:capabilities_app_capability_import")


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line of ``path`` containing ``text``."""
    found = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return found[occurrence - 1]


# --------------------------------------------------------------------------- point 20

DANGLING = "fleet-tools.nonexistent"


@pytest.fixture
def dangling_shipyard(tmp_path: Path) -> Path:
    """The shipyard fixture whose get-ship tool feeds ``imo_number`` from a parameter it
    does not declare (it declares ``imo``)."""
    text = SHIPYARD.read_text().replace("imo_number: fleet-tools.imo", f"imo_number: {DANGLING}")
    assert DANGLING in text
    path = tmp_path / "shipyard-fleet.yaml"
    path.write_text(text)
    return path


def test_strict_validation_refuses_a_with_reference_to_an_undeclared_parameter(
    dangling_shipyard,
):
    """Issue 9 point 20: ``validate_capability --strict`` fails on ``fleet-tools.nonexistent``,
    located at the ``with`` key, and names what the tool declares."""
    assert run_command("validate_capability", "--strict", str(SHIPYARD)).code == 0

    result = run_command("validate_capability", "--strict", str(dangling_shipyard))

    assert result.code == 1, result.stdout
    line = line_of(dangling_shipyard, DANGLING)
    assert (
        f"{dangling_shipyard}:{line}:13: capability.exposes[1].tools[1].with.imo_number: "
    ) in result.stderr
    assert DANGLING in result.stderr
    assert "imo" in result.stderr.split(DANGLING, 1)[1]


def test_strict_import_refuses_a_with_reference_to_an_undeclared_parameter(dangling_shipyard):
    """Issue 9 point 20: ``import_capability --strict`` refuses it and writes nothing."""
    result = run_command("import_capability", "--strict", str(dangling_shipyard))
    assert result.code == 1
    assert DANGLING in result.stderr
    assert not m.Capability.objects.exists()


def test_lenient_import_warns_about_a_with_reference_to_an_undeclared_parameter(
    dangling_shipyard,
):
    """Issue 9 point 20: a lenient import succeeds with a located warning."""
    result = run_command("import_capability", str(dangling_shipyard))
    assert result.code == 0, result.stderr
    line = line_of(dangling_shipyard, DANGLING)
    warnings = [w for w in result.stdout.splitlines() if DANGLING in w]
    assert len(warnings) == 1, result.stdout
    assert warnings[0].startswith(
        f"  warning: {dangling_shipyard}:{line}:13: capability.exposes[1].tools[1].with.imo_number"
    )


def test_admin_tool_form_refuses_a_with_reference_to_an_undeclared_parameter(staff):
    """Issue 9 point 20: the tool's change form shows the error and saves nothing."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    tool = m.Tool.objects.get(name="get-ship")
    state = database_state()

    response = edit(staff, tool, {"with_values": json.dumps({"imo_number": DANGLING})})

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "errornote" in page
    assert f"{DANGLING}" in page and "names no parameter" in page
    assert database_state() == state


def test_admin_operation_form_refuses_a_with_reference_to_an_undeclared_parameter(staff):
    """Issue 9 point 20: the same on a REST operation's change form (its path variable
    ``imo`` and its declared parameters are what it may reference)."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    operation = m.ExposedOperation.objects.get(name="get-ship")
    state = database_state()

    response = edit(staff, operation, {"with_values": json.dumps({"imo_number": "rest.imo_nr"})})

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "rest.imo_nr" in page and "names no parameter" in page
    assert database_state() == state
    # A reference to the path variable, in another spelling (§3 normalised names), is fine.
    response = edit(staff, operation, {"with_values": json.dumps({"imo_number": "rest.IMO"})})
    assert response.status_code == 302


def test_admin_parameter_inline_refuses_a_rename_that_leaves_a_with_reference_dangling(staff):
    """Issue 9 point 20: renaming the tool's parameter ``imo`` on the tool's page, while its
    ``with`` still reads ``fleet-tools.imo``, is refused too."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    tool = m.Tool.objects.get(name="get-ship")
    page = staff.get(change_url(tool))
    names = [k for k, v in form_fields(page.content.decode()).items() if v == ["imo"]]
    assert len(names) == 1, names
    state = database_state()

    response = edit(staff, tool, {names[0]: "imo_code"})

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "with.imo_number: fleet-tools.imo names no parameter of tool 'get-ship'" in page
    assert database_state() == state


# --------------------------------------------------------------------------- point 22


def warning_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("  warning: ")]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            CLOUDFLARE,
            [
                (line_of(CLOUDFLARE, "- type: workers-kv"), "capability.consumes[1].type"),
                (line_of(CLOUDFLARE, "- type: agent-skill"), "capability.exposes[2].type"),
                (
                    line_of(CLOUDFLARE, "call: orchestration.onboard-agent"),
                    "capability.exposes[0].resources[0].operations[0].call",
                ),
            ],
        ),
        (
            FACTSET,
            [
                (
                    line_of(FACTSET, "namespace: factset-signals", 2),
                    "capability.consumes[1].namespace",
                ),
                (line_of(FACTSET, "call: factset-entity.list"), "capability.exposes[0]"),
            ],
        ),
        (
            UPBOUND,
            [
                (
                    line_of(UPBOUND, "call: upbound.list-teams"),
                    "capability.exposes[0].resources[5].operations[0].call",
                ),
                (
                    line_of(UPBOUND, "call: upbound.list-teams", 2),
                    "capability.exposes[1].tools[9].call",
                ),
            ],
        ),
    ],
    ids=["cloudflare", "factset", "upbound"],
)
def test_lenient_import_keeps_what_it_cannot_serve_and_warns_where(path, expected):
    """Issue 9 point 22: the three public files refused today import leniently, each
    problem a warning at FILE:LINE:COLUMN; ``--strict`` still refuses them."""
    result = run_command("import_capability", str(path))

    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"created {path.stem}")
    warnings = warning_lines(result.stdout)
    for line, key_path in expected:
        located = f"  warning: {path}:{line}:"
        assert any(w.startswith(located) and key_path in w for w in warnings), (key_path, warnings)
    assert run_command("import_capability", "--strict", str(path), "--name", "x").code == 1


@pytest.mark.parametrize("path", [CLOUDFLARE, FACTSET, UPBOUND], ids=lambda p: p.stem)
def test_what_a_lenient_import_keeps_exports_as_written(path, tmp_path):
    """Issue 9 point 22: the parts kept but not served come back in the export, which is
    semantically equal to the file and re-imports as ``unchanged``."""
    assert run_command("import_capability", str(path)).code == 0
    capability = m.Capability.objects.get(name=path.stem)
    text = export_yaml(capability)
    assert yaml.safe_load(text) == yaml.safe_load(path.read_text())
    copy = tmp_path / path.name
    copy.write_text(text)
    result = run_command("import_capability", str(copy))
    assert result.stdout.startswith(f"unchanged {path.stem}"), result.stdout + result.stderr


def test_a_call_to_an_operation_the_file_lacks_answers_503_naming_it(api, upstream, monkeypatch):
    """Issue 9 point 22: upbound's ``list-teams`` calls ``upbound.list-teams``, which the
    file does not declare: 503 problem+json naming it, and no upstream request; the
    operations beside it are served."""
    monkeypatch.setenv("UPBOUND_TOKEN", "ub-token")
    load(UPBOUND, base_uri=upstream.url)

    response = api.get("/rest/upbound-platform-api/v1/organizations/acme/teams")

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "operation_not_served"
    assert "upbound.list-teams" in problem["detail"]
    assert "list-teams" in problem["detail"]
    assert upstream.received == []

    # Asynchronously too: refused at once, no job.
    response = api.get(
        "/rest/upbound-platform-api/v1/organizations/acme/teams", HTTP_PREFER="respond-async"
    )
    assert response.status_code == 503
    assert response.json()["code"] == "operation_not_served"
    assert not m.Job.objects.exists()
    assert upstream.received == []

    response = api.get("/rest/upbound-platform-api/v1/organizations/acme")
    assert response.status_code == 200, response.content
    assert upstream.only().path == "/organizations/acme"


def test_unsupported_exposes_and_consumes_are_kept_but_not_served(api, upstream):
    """Issue 9 point 22: cloudflare's ``agent-skill`` expose and ``workers-kv`` consumes are
    kept as written; its REST operations call ``orchestration.*``, which is no consumes
    namespace of the file: 503 naming it."""
    load(CLOUDFLARE, base_uri=upstream.url)
    capability = m.Capability.objects.get(name=CLOUDFLARE.stem)
    assert sorted(capability.consumes.values_list("namespace", flat=True)) == ["cloudflare-api"]
    assert sorted(capability.exposes.values_list("type", flat=True)) == ["mcp", "rest"]

    response = api.post(
        "/rest/cloudflare-agent-onboarding-rest/v1/agents/onboard",
        data="{}",
        content_type="application/json",
    )
    assert response.status_code == 503, response.content
    problem = response.json()
    assert problem["code"] == "operation_not_served"
    assert "orchestration.onboard-agent" in problem["detail"]
    assert upstream.received == []


def test_the_admin_shows_what_was_kept_but_not_served(staff):
    """Issue 9 point 22: the capability page lists the parts kept as written and why, and
    the tools overview marks a call that names nothing."""
    assert run_command("import_capability", str(CLOUDFLARE)).code == 0
    capability = m.Capability.objects.get(name=CLOUDFLARE.stem)

    page = html.unescape(staff.get(change_url(capability)).content.decode())

    assert "capability.consumes[1]</strong>: unsupported consumes type 'workers-kv'" in page
    assert "capability.exposes[2]</strong>: unsupported expose type 'agent-skill'" in page
    assert "orchestration.onboard-agent (not served: names nothing)" in page


DUPLICATES = """
naftiko: 1.0.0-alpha2
info: {label: Duplicates, description: One consumes namespace declared three times.}
capability:
  consumes:
  - type: http
    namespace: fleet
    baseUri: https://first.example
    resources:
    - name: ships
      path: /first
      operations:
      - {name: list-ships, method: GET}
  - type: http
    namespace: fleet
    baseUri: https://second.example
    resources:
    - name: ships
      path: /second
      operations:
      - {name: list-ships, method: GET}
  - type: http
    namespace: fleet
    baseUri: https://third.example
    resources:
    - name: ships
      path: /third
      operations:
      - {name: list-ships, method: GET}
  exposes:
  - type: rest
    port: 8080
    namespace: dup-api
    resources:
    - path: /ships
      operations:
      - {method: GET, name: list, call: fleet.list-ships}
"""


def test_the_first_of_a_repeated_consumes_namespace_serves(api, upstream, tmp_path):
    """Issue 9 point 22: of a consumes namespace declared three times the first serves; the
    others are kept as written (warned at their own lines) and exported back."""
    path = tmp_path / "duplicates.yaml"
    path.write_text(DUPLICATES)
    result = run_command("import_capability", str(path))
    assert result.code == 0, result.stderr
    (warning,) = [w for w in warning_lines(result.stdout) if "declared again" in w]
    line = line_of(path, "namespace: fleet", 2)
    assert warning.startswith(f"  warning: {path}:{line}:5: capability.consumes[1].namespace")
    assert warning.endswith("(and 1 more like it)")  # the third, grouped with the second
    load(path, base_uri=upstream.url)  # unchanged; points the served consumes at upstream

    response = api.get("/rest/dup-api/ships")

    assert response.status_code == 200, response.content
    assert upstream.only().path == "/first"
    capability = m.Capability.objects.get(name="duplicates")
    exported = yaml.safe_load(export_yaml(capability))["capability"]["consumes"]
    assert [c["baseUri"] for c in exported][1:] == [
        "https://second.example",
        "https://third.example",
    ]


@pytest.fixture(scope="module")
def upbound_mcp(tmp_path_factory):
    upstream = RecordingUpstream().start()
    process = RegistryProcess(tmp_path_factory.mktemp("upbound-mcp"), UPBOUND_TOKEN="ub-mcp")
    process.import_document(UPBOUND, name=UPBOUND.stem, base_uri=upstream.url)
    url = process.start_mcp()
    yield url, upstream
    process.stop()
    upstream.stop()


@pytest.mark.processes
def test_an_mcp_tool_calling_an_operation_the_file_lacks_is_an_error_naming_it(upbound_mcp):
    """Issue 9 point 22: the MCP tool ``list-teams`` answers ``isError`` naming
    ``upbound.list-teams``, without an upstream request; its neighbours are served."""
    url, upstream = upbound_mcp

    async def use(client):
        broken = await client.call_tool("list-teams", {"orgName": "acme"})
        served = await client.call_tool("get-organization", {"orgName": "acme"})
        return broken, served

    broken, served = run(with_client(f"{url}/mcp/upbound-platform-mcp", use))

    assert broken.is_error
    text = broken.content[0].text
    assert "operation_not_served" in text and "upbound.list-teams" in text
    assert not served.is_error, served.content
    assert [r.path for r in upstream.received] == ["/organizations/acme"]


# --------------------------------------------------------------------------- point 24

EDITED_PATH = "capability.exposes[1].tools[1].description"


def edit_get_ship_tool(staff: Client) -> m.Tool:
    tool = m.Tool.objects.get(name="get-ship", expose__capability__name="shipyard-fleet")
    response = edit(staff, tool, {"description": "Edited in the admin"})
    assert response.status_code == 302
    return tool


def description_of_get_ship() -> str:
    return m.Tool.objects.get(name="get-ship").description


def test_reimport_over_an_admin_edit_refuses_and_names_it(staff):
    """Issue 9 point 24: a teammate re-imports the file after an admin edit: exit 1, nothing
    written, the message names the capability and the edited key path."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    edit_get_ship_tool(staff)
    state = database_state()

    result = run_command("import_capability", str(SHIPYARD))

    assert result.code == 1, result.stdout
    assert "shipyard-fleet" in result.stderr
    assert "edited in the admin" in result.stderr
    assert EDITED_PATH in result.stderr
    assert "--force" in result.stderr
    assert database_state() == state
    assert description_of_get_ship() == "Edited in the admin"

    dry = run_command("import_capability", "--dry-run", str(SHIPYARD))
    assert dry.code == 1
    assert EDITED_PATH in dry.stderr
    assert database_state() == state


def test_force_overwrites_an_admin_edit(staff):
    """Issue 9 point 24: ``--force`` overwrites the edit; the next import is ``unchanged``."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    edit_get_ship_tool(staff)
    assert run_command("import_capability", str(SHIPYARD)).code == 1

    result = run_command("import_capability", "--force", str(SHIPYARD))

    assert result.code == 0, result.stderr
    assert result.stdout.startswith("updated shipyard-fleet")
    assert description_of_get_ship() == "Retrieve a ship's details by IMO number"
    again = run_command("import_capability", str(SHIPYARD))
    assert again.code == 0 and again.stdout.startswith("unchanged shipyard-fleet")


def test_keep_edited_leaves_edited_capabilities_alone_and_says_so(staff):
    """Issue 9 point 24: ``--keep-edited`` (what ``make demo`` runs) imports the folder but
    skips the edited capability with a line saying so."""
    assert run_command("import_capability", str(FIXTURES)).code == 0
    edit_get_ship_tool(staff)

    result = run_command("import_capability", "--keep-edited", str(FIXTURES))

    assert result.code == 0, result.stderr
    kept = [line for line in result.stdout.splitlines() if line.startswith("kept shipyard-fleet")]
    assert len(kept) == 1, result.stdout
    assert "edited in the admin" in kept[0] and EDITED_PATH in kept[0]
    assert "unchanged prefect-account-billing" in result.stdout
    assert description_of_get_ship() == "Edited in the admin"


@pytest.mark.processes
def test_make_demo_keeps_edited_capabilities():
    """Issue 9 point 24: ``make demo`` re-imports ``fixtures/`` with ``--keep-edited``."""
    recipe = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"manage\.py import_capability --keep-edited fixtures/", recipe), recipe


def test_an_edit_the_new_file_contains_is_no_conflict(staff, tmp_path):
    """Issue 9 point 24: importing a file that already holds the admin's edit (its export)
    loses nothing: ``unchanged``, no ``--force`` needed, and the edit stays."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    capability = m.Capability.objects.get(name="shipyard-fleet")
    tool = edit_get_ship_tool(staff)
    exported = tmp_path / "exported.yaml"
    exported.write_text(export_yaml(capability))

    result = run_command("import_capability", "--name", "shipyard-fleet", str(exported))

    assert result.code == 0, result.stderr
    assert result.stdout.startswith("unchanged shipyard-fleet")
    tool.refresh_from_db()
    assert tool.description == "Edited in the admin"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/yaml")


def test_admin_upload_over_an_edit_asks_for_force(staff):
    """Issue 9 point 24: the Import YAML page refuses the same upload, names the edit and
    offers to overwrite; ticked, it overwrites."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    edit_get_ship_tool(staff)
    state = database_state()

    response = staff.post(IMPORT_URL, {"files": [upload(SHIPYARD.name, SHIPYARD.read_bytes())]})

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert EDITED_PATH in page and "edited in the admin" in page
    assert 'name="force"' in page
    assert database_state() == state

    response = staff.post(
        IMPORT_URL, {"files": [upload(SHIPYARD.name, SHIPYARD.read_bytes())], "force": "on"}
    )
    page = html.unescape(response.content.decode())
    assert "<strong>updated shipyard-fleet" in page
    assert description_of_get_ship() == "Retrieve a ship's details by IMO number"
