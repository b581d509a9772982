"""The documents of the repository send their reader only to what a clone has: every path
and module they name exists, and every "RUNTIME-CONTRACT §N" names a section of
``docs/runtime-contract.md``."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from tests.conftest import ROOT

DOCUMENTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = [
    path
    for folder in ("capabilities_app", "registry", "tests", "bench")
    for path in sorted((ROOT / folder).rglob("*.py"))
    if path != Path(__file__)
]
# Files of the project's workspace that a clone does not have.
OUTSIDE = re.compile(
    r"shared/(naftiko|design|corpus)/|RUNTIME-CONTRACT\.md|SPEC-NOTES|PERFORMANCE-NOTES|HOUSE-STYLE"
)
PATH = re.compile(r"`((?:capabilities_app|registry|tests|bench|docs|fixtures|templates)/[\w./-]*)`")
MODULE = re.compile(r"`(capabilities_app(?:\.[a-z_]\w*)+)`")  # not check ids (.W001)
CITATION = re.compile(r"RUNTIME-CONTRACT §(\d+)")


def names(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return [
        (document.relative_to(ROOT).as_posix(), found)
        for document in DOCUMENTS
        for found in pattern.findall(document.read_text())
    ]


def test_nothing_points_outside_the_repository():
    """Issue 11 point 4: no document (nor docstring) cites a file a clone does not have."""
    found = [
        (path.relative_to(ROOT).as_posix(), match.group(0))
        for path in [*DOCUMENTS, *SOURCES]
        for match in OUTSIDE.finditer(path.read_text())
    ]
    assert found == []


def test_every_path_a_document_names_exists():
    """Issue 11 point 4: the paths of README.md, CONTRIBUTING.md and docs/ are in the tree."""
    missing = [(doc, path) for doc, path in names(PATH) if not (ROOT / path).exists()]
    assert missing == []


def test_every_module_a_document_names_exists():
    """Issue 11 point 4: ``capabilities_app.x.y`` names a module (or a name in one)."""
    missing = []
    for doc, dotted in names(MODULE):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for name in parts[cut:]:
                    found = getattr(found, name)
            except AttributeError:
                missing.append((doc, dotted))
            break
    assert missing == []


def test_every_runtime_contract_citation_names_a_section():
    """Issue 11 point 4: "RUNTIME-CONTRACT §N" cites a section of docs/runtime-contract.md,
    whose numbering is kept for that."""
    contract = (ROOT / "docs" / "runtime-contract.md").read_text()
    sections = set(re.findall(r"^## (\d+)\. ", contract, flags=re.MULTILINE))
    cited = {
        (path.relative_to(ROOT).as_posix(), number)
        for path in [*DOCUMENTS, *SOURCES]
        for number in CITATION.findall(path.read_text())
    }
    assert {(path, n) for path, n in cited if n not in sections} == set()
