"""Expanding the PATH arguments of the import and validate commands.

A PATH is a file, a folder (every ``*.yaml``/``*.yml`` below it) or a glob that the
shell did not expand. Files found in folders or through globs that are not Naftiko
or Ikanos documents at all (a secrets map, an index) are skipped and said so;
files named one by one are always read, so a wrong file is an error.
``documents`` turns the arguments into the importer's inputs, and
``DocumentsCommand`` is what both commands share around them.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from capabilities_app.management.console import run_with_progress
from capabilities_app.store.importer import DocumentInput, RunReport, file_inputs
from capabilities_app.store.specs import file_import_resolver

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


@dataclass
class Documents:
    """What the PATH arguments of a command name: the inputs to read, the files skipped."""

    inputs: list[DocumentInput]
    skipped: list[Path]
    max_bytes: int


def documents(arguments: list[str], *, name: str | None) -> Documents:
    """The documents ``arguments`` name, each read up to ``REGISTRY_MAX_DOCUMENT_BYTES``.

    A PATH that names nothing, or ``--name`` (``name``) with other than one file, is a
    ``CommandError``.
    """
    expansion = expand_paths(arguments)
    if expansion.missing:
        raise CommandError("no such file: " + ", ".join(expansion.missing))
    if name and len(expansion.files) != 1:
        raise CommandError("--name needs exactly one file")
    max_bytes = settings.REGISTRY_MAX_DOCUMENT_BYTES
    inputs = file_inputs(expansion.files, max_bytes=max_bytes, name=name)
    return Documents(inputs, expansion.skipped, max_bytes)


class DocumentsCommand(BaseCommand):
    """A command over the documents its PATH arguments name (import, validate).

    It reads ``PATH ...``, ``--name``, ``--dry-run`` (if it ``writes``) and ``--strict``
    (a subclass adds its own options), runs ``run_documents`` over the documents with a
    progress bar (``console``), and fails with ``failure`` when the report is not ok.
    """

    name_help = ""
    failure = ""
    writes = False  # a command that writes offers --dry-run

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--name", help=self.name_help)
        if self.writes:
            parser.add_argument(
                "--dry-run", action="store_true", help="check and report, write nothing"
            )
        parser.add_argument(
            "--strict", action="store_true", help="require the official JSON Schema to pass"
        )

    def handle(self, *args, **options) -> None:
        found = documents(options["paths"], name=options["name"])
        resolve_import = file_import_resolver(max_bytes=found.max_bytes)
        report = run_with_progress(
            self,
            found.inputs,
            lambda on_progress: self.run_documents(
                found.inputs,
                strict=options["strict"],
                resolve_import=resolve_import,
                on_progress=on_progress,
                **self.arguments(options),
            ),
            skipped=found.skipped,
        )
        if not report.ok:
            raise CommandError(self.failure, returncode=1)

    def run_documents(self, inputs: list[DocumentInput], **arguments: Any) -> RunReport:
        """The command's work over ``inputs`` (the importer's ``import_documents`` or
        ``check_documents``)."""
        raise NotImplementedError

    def arguments(self, options: dict[str, Any]) -> dict[str, Any]:
        """The keywords ``run_documents`` takes from the command's own options."""
        return {}
