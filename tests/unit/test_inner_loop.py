"""The fast inner loop and the lint that guards the house (issue 11 points 3 and 5)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import UnmarkedProcess

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_a_test_without_the_marker_cannot_start_a_process():
    """Issue 11 point 5: `make test-fast` leaves out the `processes` tests; an unmarked test
    that starts one fails, so the marker stays true and the fast loop stays fast."""
    with pytest.raises(UnmarkedProcess, match="mark it"):
        subprocess.Popen([sys.executable, "-c", "pass"])


@pytest.mark.processes
def test_a_marked_test_may_start_a_process():
    """Issue 11 point 5: the marker is what lets a test start a process."""
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0


def test_make_test_fast_runs_every_test_that_starts_no_process():
    """Issue 11 point 5: `make test-fast` deselects the marker, and the marker is registered."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert '-m "not processes"' in recipe
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert any(m.startswith("processes:") for m in markers["markers"])


def test_tests_never_import_the_benchmarks():
    """Issue 11 point 5: helpers shared by tests and benchmarks live in tests/support; the
    benchmarks import them, never the other way round."""
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            n for n in imported_modules(path) if n.startswith("bench")
        )
        for path in (ROOT / "tests").rglob("*.py")
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_benchmarks_start_processes_through_the_shared_helpers():
    """Issue 11 point 5: one set of process helpers (tests/support/processes.py) and one
    test-data generator (tests/support/documents.py), used by the benchmarks too."""
    used = set().union(*(imported_modules(path) for path in (ROOT / "bench").glob("*.py")))
    assert {"tests.support.processes", "tests.support.documents"} <= used
    assert not (ROOT / "bench" / "documents.py").exists()


def test_make_lint_runs_mypy_on_the_app():
    """Issue 11 point 3: mypy (with the Django and DRF plugins) is part of `make lint`, which
    `make test` and CI run."""
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "mypy" in lint
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert {"mypy_django_plugin.main", "mypy_drf_plugin.main"} <= set(mypy["plugins"])
    assert "capabilities_app" in mypy["files"]
