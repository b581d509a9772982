"""Every setting ``registry/settings.py`` reads is in ``.env.example`` and the README's
environment table (CONTRIBUTING.md, "Add a setting")."""

from __future__ import annotations

import re

from tests.conftest import ROOT

READ = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def settings_read() -> set[str]:
    return set(READ.findall((ROOT / "registry" / "settings.py").read_text()))


def test_every_setting_is_in_env_example():
    """Issue 10 point 1: the client key settings too (and every earlier one)."""
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert settings_read() - listed == set()


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    table = "\n".join(line for line in readme.splitlines() if line.startswith("| `"))
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert settings_read() - documented == set()
