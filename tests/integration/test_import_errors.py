"""Every bad input gets ``PATH:LINE:COLUMN: key.path: message``, exit 1, and no write at all.

Each case imports a good document and the bad one in the same run: the good one must
not be written either (one transaction per run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from capabilities_app.store.models import Capability
from tests.conftest import NETBIRD, PREFECT, SHIPYARD, database_state, run_command

pytestmark = pytest.mark.django_db

ERROR_LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<key>\S+): (?P<message>.+)$"
)


@pytest.fixture
def registry():
    """A registry that already holds one capability."""
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    return database_state()


def import_expecting_failure(bad: Path, *extra: str) -> list[re.Match]:
    result = run_command("import_capability", *extra, str(PREFECT), str(bad))
    assert result.code == 1, result.stdout
    assert "import failed; nothing was written" in result.stderr
    assert f"failed {bad.stem}" in result.stdout
    errors = [m for m in map(ERROR_LINE.match, result.stderr.splitlines()) if m]
    assert errors, result.stderr
    assert all(m["path"] == str(bad) for m in errors)
    return errors


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def only(errors: list[re.Match]) -> re.Match:
    assert len(errors) == 1, [m.group(0) for m in errors]
    return errors[0]


class TestBadYaml:
    def test_syntax_error(self, tmp_path, registry):
        bad = write(
            tmp_path, "broken.yaml", "naftiko: 1.0.0-alpha2\ninfo:\n  label: [unclosed\n  x: 1\n"
        )
        error = only(import_expecting_failure(bad))
        assert error["message"].startswith("YAML syntax error:")
        assert int(error["line"]) >= 3
        assert database_state() == registry

    def test_unsafe_tag(self, tmp_path, registry):
        bad = write(
            tmp_path,
            "unsafe.yaml",
            "naftiko: 1.0.0-alpha2\ncapability:\n  exposes: !!python/object/apply:os.getcwd []\n",
        )
        error = only(import_expecting_failure(bad))
        assert (error["line"], error["column"], error["key"]) == ("3", "12", "capability.exposes")
        assert (
            "YAML tag 'tag:yaml.org,2002:python/object/apply:os.getcwd' is not allowed"
            in (error["message"])
        )
        assert database_state() == registry

    def test_alias_bomb(self, tmp_path, registry):
        lines = ["naftiko: 1.0.0-alpha2", 'a: &a ["x","x","x","x","x","x","x","x","x","x"]']
        for i in range(1, 9):
            prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
            lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
        bad = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
        error = only(import_expecting_failure(bad))
        assert "alias bomb" in error["message"]
        assert database_state() == registry

    def test_document_over_the_size_limit(self, tmp_path, registry, settings):
        settings.REGISTRY_MAX_DOCUMENT_BYTES = 20_000  # the seed (13 kB) fits, this does not
        bad = write(tmp_path, "huge.yaml", "naftiko: 1.0.0-alpha2\n# " + "x" * 30_000 + "\n")
        error = only(import_expecting_failure(bad))
        assert (error["line"], error["column"]) == ("1", "1")
        assert "over the limit of 20,000 bytes (REGISTRY_MAX_DOCUMENT_BYTES)" in error["message"]
        assert database_state() == registry


class TestBadDocuments:
    def test_unknown_naftiko_version(self, tmp_path, registry):
        bad = write(
            tmp_path, "future.yaml", NETBIRD.read_text().replace("1.0.0-alpha2", "1.0.0-alpha9")
        )
        error = only(import_expecting_failure(bad))
        assert (error["line"], error["key"]) == ("1", "naftiko")
        assert error["message"] == (
            "unsupported naftiko version '1.0.0-alpha9'; "
            "the registry reads 1.0.0-alpha1 and 1.0.0-alpha2"
        )
        assert database_state() == registry

    def test_ikanos_document(self, tmp_path, registry):
        bad = write(
            tmp_path,
            "ikanos.yaml",
            "ikanos: 1.0.0-beta4\ninfo:\n  display: X\ncapability:\n  consumes: {}\n",
        )
        error = only(import_expecting_failure(bad))
        assert error["key"] == "ikanos"
        assert "Ikanos document (ikanos: 1.0.0-beta4)" in error["message"]
        assert database_state() == registry

    def test_call_to_a_missing_operation(self, tmp_path, registry):
        bad = write(
            tmp_path,
            "missing-call.yaml",
            NETBIRD.read_text().replace(
                "call: netbird-checkout.post\n      with", "call: netbird-checkout.put\n      with"
            ),
        )
        # Strict mode refuses it; a lenient import keeps the tool, which answers 503
        # (issue 9 point 22, tests/integration/hardening/test_import_hardening.py).
        result = run_command("import_capability", "--strict", str(bad))
        assert result.code == 1, result.stdout
        errors = [m for m in map(ERROR_LINE.match, result.stderr.splitlines()) if m]
        error = only([m for m in errors if m["key"].endswith(".call")])
        assert (error["line"], error["key"]) == ("75", "capability.exposes[1].tools[0].call")
        assert error["message"] == (
            "call to netbird-checkout.put: no operation 'put' in 'netbird-checkout' (post)"
        )
        assert database_state() == registry

    def test_duplicate_names(self, tmp_path, registry):
        text = NETBIRD.read_text()
        tool_start = text.index("    - name: create-checkout-session")
        bad = write(tmp_path, "dupes.yaml", text + text[tool_start:])
        error = only(import_expecting_failure(bad))
        assert error["key"] == "capability.exposes[1].tools[1].name"
        assert error["message"] == "duplicate name 'create-checkout-session' (first at line 69)"
        assert database_state() == registry

    def test_expose_namespace_owned_by_another_capability(self, tmp_path, registry):
        bad = write(
            tmp_path,
            "thief.yaml",
            NETBIRD.read_text().replace("netbird-checkout-mcp", "fleet-tools"),
        )
        error = only(import_expecting_failure(bad))
        assert error["key"] == "capability.exposes[1].namespace"
        assert error["message"] == (
            "expose namespace 'fleet-tools' is owned by capability 'shipyard-fleet'; "
            "expose namespaces are unique across the registry"
        )
        assert database_state() == registry

    def test_expose_namespace_claimed_twice_in_one_run(self, tmp_path, registry):
        copy = write(tmp_path, "netbird-copy.yaml", NETBIRD.read_text())
        result = run_command("import_capability", str(NETBIRD), str(copy))
        assert result.code == 1
        assert "is owned by capability 'netbird-checkout'" in result.stderr
        assert database_state() == registry


class TestBinds:
    def test_undeclared_bind_is_a_warning_when_lenient(self, tmp_path, registry):
        doc = write(
            tmp_path,
            "netbird-undeclared.yaml",
            NETBIRD.read_text().replace("{{env.NETBIRD_API_KEY}}", "{{env.NETBIRD_TOKEN}}"),
        )
        result = run_command("import_capability", str(doc))
        assert result.code == 0
        assert (
            f"  warning: {doc}:41:7: capability.consumes[0].authentication.token: undeclared bind "
            "variable: bind namespace 'env' declares no variable 'NETBIRD_TOKEN'"
        ) in result.stdout.splitlines()
        assert Capability.objects.filter(name="netbird-undeclared").exists()

    def test_undeclared_bind_is_an_error_when_strict(self, tmp_path, registry):
        text = SHIPYARD.read_text().replace('token: "{{FLEET_TOKEN}}"', 'token: "{{FLEET_SECRET}}"')
        bad = write(tmp_path, "fleet-undeclared.yaml", text)
        result = run_command("import_capability", "--strict", str(bad))
        assert result.code == 1
        errors = [m for m in map(ERROR_LINE.match, result.stderr.splitlines()) if m]
        assert [m["message"] for m in errors] == [
            "undeclared bind variable: {{FLEET_SECRET}} is not declared in any binds entry"
        ]
        assert database_state() == registry
