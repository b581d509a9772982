"""The layers stay honest (issue 11 point 1): every import of every module of the app,
read from the source (imports inside functions and under TYPE_CHECKING included).

Bottom to top: ``core`` → ``store`` → ``runtime`` → ``access`` → ``jobs`` → the
surfaces (``api``, ``mcp``, ``admin``) and the edges that wire them (``management``,
``checks``, ``apps``). A module imports its own layer or lower ones; the surfaces never
import each other; nothing below a surface imports one. CONTRIBUTING.md has the map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import capabilities_app

APP = Path(capabilities_app.__file__).parent
RANK = {"core": 0, "store": 1, "models": 1, "runtime": 2, "access": 3, "jobs": 4}
SURFACES = {"api", "mcp", "admin", "catalog"}
EDGES = {"management", "checks", "apps"}  # wire the surfaces: may import anything


def room(module: str) -> str:
    """The package (or top-level module) of the app a dotted module name lives in."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_of(path: Path) -> list[str]:
    module = ".".join(path.relative_to(APP.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base == "capabilities_app":  # `from capabilities_app import store`
                found += [f"{base}.{alias.name}" for alias in node.names]
            else:
                found.append(base)
    return [name for name in found if name.startswith("capabilities_app.")]


def modules() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "migrations" not in p.parts)


def allowed(source: str, target: str) -> bool:
    if source == target or source in EDGES:
        return True
    if target in SURFACES or target in EDGES:
        return False  # no surface imports another; nothing below a surface imports one
    if source in SURFACES:
        return target in RANK
    return RANK.get(target, 99) <= RANK.get(source, -1)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(APP)))
def test_a_module_imports_only_its_own_layer_or_lower_ones(path):
    """Issue 11 point 1: no import from a surface package into the domain or into another
    surface, and no domain layer reaches up."""
    source = room(".".join(path.relative_to(APP.parent).with_suffix("").parts))
    wrong = [name for name in imports_of(path) if not allowed(source, room(name))]
    assert wrong == [], f"{path.relative_to(APP)} ({source}) imports {wrong}"


def test_the_walk_sees_a_violation():
    """The rule is not vacuous: a domain module importing a surface is caught."""
    assert not allowed("jobs", "api")
    assert not allowed("mcp", "api")
    assert not allowed("store", "runtime")
    assert allowed("api", "jobs")


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(APP)))
def test_no_module_is_longer_than_500_lines(path):
    """Issue 11 acceptance: no module above 500 lines outside migrations."""
    lines = len(path.read_text().splitlines())
    assert lines <= 500, f"{path.relative_to(APP)} has {lines} lines"


HTTP_CLIENTS = {"httpx", "httpcore", "urllib3", "http.client", "httpx2", "httpcore2", "requests"}


def third_party_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(APP)))
def test_only_upstream_imports_an_http_client(path):
    """Issue 12 point 2: the one outbound client (``runtime/upstream.py``) is the only module
    importing httpx, httpcore, urllib3 or the standard library's ``http.client`` (which
    ``runtime/heads.py``, its answer reader, imports too)."""
    if path == APP / "runtime" / "upstream.py":
        return
    if path == APP / "runtime" / "heads.py":  # upstream's answer reader: http.client only
        assert set(third_party_imports(path)) & HTTP_CLIENTS == {"http.client"}
        return
    clients = [
        name
        for name in third_party_imports(path)
        if name in HTTP_CLIENTS or name.split(".")[0] in HTTP_CLIENTS - {"http.client"}
    ]
    assert clients == [], f"{path.relative_to(APP)} imports {clients}"
