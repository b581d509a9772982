"""Expanding the PATH arguments of the import and validate commands.

A PATH is a file, a folder (every ``*.yaml``/``*.yml`` below it) or a glob that the
shell did not expand. Files found in folders or through globs that are not Naftiko
or Ikanos documents at all (a secrets map, an index) are skipped and said so;
files named one by one are always read, so a wrong file is an error.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

_DOCUMENT_KEY = re.compile(rb"^(naftiko|ikanos)\s*:", re.MULTILINE)
_SUFFIXES = (".yaml", ".yml")


@dataclass
class Expansion:
    files: list[Path]
    skipped: list[Path]
    missing: list[str]

    @property
    def many(self) -> bool:
        return len(self.files) > 1


def expand_paths(arguments: list[str]) -> Expansion:
    files: list[Path] = []
    skipped: list[Path] = []
    missing: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
        elif path.exists():
            files.append(path)
            continue
        elif glob.has_magic(argument):
            found = sorted(Path(p) for p in glob.glob(argument, recursive=True))
            found = [p for p in found if p.is_file()]
        else:
            missing.append(argument)
            continue
        for candidate in found:
            (files if _looks_like_document(candidate) else skipped).append(candidate)
    # The same file named twice is read once.
    unique = list(dict.fromkeys(files))
    return Expansion(unique, skipped, missing)


def _looks_like_document(path: Path) -> bool:
    try:
        head = path.read_bytes()[:65536]
    except OSError:
        return True  # let the importer report the error
    return bool(_DOCUMENT_KEY.search(head))
