"""A fresh clone, as a new team member gets it (issue 9 point 23).

The repository's tracked files are copied to a folder of their own (no ``.env``, no
database), the Makefile's ``.env`` step runs there (the step ``make install`` runs,
pointed at the current interpreter so nothing is installed again), and ``manage.py``
runs with neither ``DEBUG`` nor ``SECRET_KEY`` in the environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The environment a new user's shell has: nothing the tests or the machine set for the registry.
UNSET = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    target = tmp_path / "clone"
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the worktree is not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target / ".env").exists()
    return target


def fresh_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in UNSET and not k.startswith("REGISTRY_")}


def manage(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=clone,
        env=fresh_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_env(clone: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", ".env", f"PYTHON={sys.executable}"],
        cwd=clone,
        env=fresh_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_of(env_file: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def test_make_install_writes_a_local_env_and_manage_py_runs(clone):
    """Issue 9 point 23: the install step writes ``.env`` (DEBUG on, a generated key) when
    there is none, and ``manage.py`` then runs in the fresh clone."""
    written = make_env(clone)
    assert written.returncode == 0, written.stderr
    assert ".env" in written.stdout  # it says it wrote the file
    values = settings_of(clone / ".env")
    assert values["DEBUG"] == "true"
    assert len(values["SECRET_KEY"]) >= 50
    # Every other setting of .env.example is carried over as it is there.
    assert set(values) == set(settings_of(clone / ".env.example"))

    checked = manage(clone, "check")
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout
    assert "Traceback" not in checked.stderr


def test_an_existing_env_is_left_alone(clone):
    """Issue 9 point 23: ``.env`` is written only when none exists (a team's own is kept)."""
    assert make_env(clone).returncode == 0
    first = (clone / ".env").read_text()
    again = make_env(clone)
    assert again.returncode == 0, again.stderr
    assert (clone / ".env").read_text() == first
    other_clone_key = settings_of(clone / ".env")["SECRET_KEY"]
    (clone / ".env").unlink()
    assert make_env(clone).returncode == 0
    assert settings_of(clone / ".env")["SECRET_KEY"] != other_clone_key  # generated, not fixed


def test_manage_py_without_a_secret_key_says_how_to_fix_it(clone):
    """Issue 9 point 23: no ``.env`` and no ``SECRET_KEY`` with DEBUG off: one clear line,
    not an ``ImproperlyConfigured`` traceback."""
    result = manage(clone, "check")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "SECRET_KEY" in message
    assert "make install" in message
