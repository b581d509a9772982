"""The management commands: folders and globs, dry runs, validation, export, progress."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capabilities_app.store.loader import parse_source
from capabilities_app.store.models import Capability, Tool
from tests.conftest import (
    CORPUS,
    FIXTURES,
    MAX_BYTES,
    NETBIRD,
    PREFECT,
    ROOT,
    SHIPYARD,
    database_state,
    run_command,
)

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def writes_in(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)
    ]


class TestImportCommand:
    def test_a_folder_imports_every_document_with_a_summary(self):
        result = run_command("import_capability", str(FIXTURES))
        assert result.code == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[-1] == "3 documents: 3 created"
        assert set(Capability.objects.values_list("name", flat=True)) == {
            "prefect-account-billing",
            "netbird-checkout",
            "shipyard-fleet",
        }

    def test_folders_skip_files_that_are_not_documents(self):
        folder = CORPUS / "naftiko__framework/tutorial/shared"
        result = run_command("import_capability", str(folder))
        assert result.code == 0, result.stderr
        assert f"skipped {folder / 'secrets.yaml'} (not a Naftiko document)" in result.stdout
        assert "6 documents: 6 created" in result.stdout
        assert set(Capability.objects.values_list("kind", flat=True)) == {"consumes"}

    def test_a_glob_the_shell_did_not_expand(self):
        result = run_command("import_capability", str(FIXTURES / "*-checkout.yaml"))
        assert result.code == 0
        assert list(Capability.objects.values_list("name", flat=True)) == ["netbird-checkout"]

    def test_second_run_over_a_folder_is_unchanged(self):
        run_command("import_capability", str(FIXTURES))
        result = run_command("import_capability", str(FIXTURES))
        assert result.stdout.splitlines()[-1] == "3 documents: 3 unchanged"

    def test_dry_run_reports_and_writes_nothing(self):
        before = database_state()
        result = run_command("import_capability", "--dry-run", str(PREFECT))
        assert result.code == 0
        assert (
            result.stdout.splitlines()[0]
            == "created prefect-account-billing (8 operations, 8 tools)"
        )
        assert result.stdout.splitlines()[-1] == "dry run: nothing was written"
        assert database_state() == before

    def test_name_needs_a_single_file(self):
        result = run_command("import_capability", "--name", "x", str(PREFECT), str(NETBIRD))
        assert result.code == 1
        assert "--name needs exactly one file" in result.stderr

    def test_missing_path(self):
        result = run_command("import_capability", "/no/such/file.yaml")
        assert result.code == 1
        assert "no such file: /no/such/file.yaml" in result.stderr

    def test_imports_resolve_relative_to_the_importing_file(self):
        path = CORPUS / "naftiko__framework/tutorial/step-10-shipyard-rest-adapter.yml"
        result = run_command("import_capability", str(path))
        assert result.code == 0, result.stderr
        capability = Capability.objects.get(name=path.stem)
        imported = capability.consumes.get(namespace="registry")
        assert imported.import_location == "./shared/step7-registry-consumes.yml"
        assert imported.resources.count() == 4
        assert Tool.objects.get(
            name="get-ship", expose__capability=capability
        ).call.resource.path == ("/ships/{{imo_number}}")


class TestValidateCommand:
    def test_valid_documents_exit_zero_without_writing(self):
        with CaptureQueriesContext(connection) as queries:
            result = run_command("validate_capability", str(FIXTURES))
        assert result.code == 0
        assert "valid shipyard-fleet (2 operations, 2 tools)" in result.stdout
        assert result.stdout.splitlines()[-1] == "3 documents: 3 valid"
        assert writes_in(queries) == []
        assert not Capability.objects.exists()

    def test_strict_failure_exits_one(self):
        result = run_command("validate_capability", "--strict", str(NETBIRD))
        assert result.code == 1
        assert f"{NETBIRD}:43:5: capability.exposes[0]: not valid" in result.stderr

    def test_validate_sees_namespace_owners(self, tmp_path):
        run_command("import_capability", str(NETBIRD))
        copy = tmp_path / "other.yaml"
        copy.write_text(NETBIRD.read_text())
        result = run_command("validate_capability", str(copy))
        assert result.code == 1
        assert "is owned by capability 'netbird-checkout'" in result.stderr


class TestExportCommand:
    def test_export_to_stdout_and_file(self, tmp_path):
        run_command("import_capability", str(SHIPYARD))
        result = run_command("export_capability", "shipyard-fleet")
        assert result.code == 0
        assert parse_source(result.stdout, origin="x", max_bytes=MAX_BYTES).data == (
            parse_source(SHIPYARD.read_bytes(), origin="y", max_bytes=MAX_BYTES).data
        )
        target = tmp_path / "out.yaml"
        assert run_command("export_capability", "shipyard-fleet", "--output", str(target)).code == 0
        assert target.read_text() == result.stdout

    def test_keys_follow_the_spec_order(self):
        run_command("import_capability", str(NETBIRD))
        text = run_command("export_capability", "netbird-checkout").stdout
        top = [line.split(":")[0] for line in text.splitlines() if re.match(r"^[a-z]+:", line)]
        assert top == ["naftiko", "info", "binds", "capability"]
        assert text.index("  exposes:") < text.index("  consumes:")  # the schema's order

    def test_inline_imports(self):
        path = CORPUS / "naftiko__framework/tutorial/step-10-shipyard-rest-adapter.yml"
        run_command("import_capability", str(path))
        referenced = run_command("export_capability", path.stem).stdout
        inlined = run_command("export_capability", path.stem, "--inline-imports").stdout
        assert "location: ./shared/step7-registry-consumes.yml" in referenced
        assert "baseUri: https://mocks.naftiko.net" not in referenced
        assert "baseUri: https://mocks.naftiko.net" in inlined

    def test_unknown_name(self):
        result = run_command("export_capability", "nope")
        assert result.code == 1
        assert "no capability named 'nope'" in result.stderr


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_progress_bar_on_a_terminal(tmp_path):
    """On a terminal, a run over many files draws a progress bar on stderr."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'progress.sqlite3'}",
        "DEBUG": "true",
        "COLUMNS": "100",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    primary, secondary = pty.openpty()
    folder = CORPUS / "naftiko__framework/tutorial"
    process = subprocess.Popen(
        [*manage, "validate_capability", str(folder)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=secondary,
    )
    os.close(secondary)
    terminal = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        terminal += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(primary)
    assert process.returncode == 0, terminal.decode(errors="replace")
    assert "━" in terminal.decode(errors="replace")  # rich's bar
    assert stdout.decode().splitlines()[-1] == "17 documents: 17 valid"
    assert Path(tmp_path / "progress.sqlite3").exists()
