"""Reading a capability document: version, structure, imports, schema and semantic checks.

``parse_document`` takes a loaded :class:`~capabilities_app.store.loader.Source` and returns a
:class:`ParsedDocument` the importer can write, or raises :class:`SpecError` listing
every problem with its file, line, column and key path. It accepts both dialects
found in the wild (RUNTIME-CONTRACT §1):

- **lenient** (the default): deviations from the official JSON Schema, such as the
  catalog dialect's ``type``/``required`` on consumed parameters, are warnings;
- **strict**: the official schema of the document's version must pass, and
  undeclared bind variables and the spec's namespace rule are errors.

Whatever the mode, what the registry cannot store is an error: unsupported versions,
missing keys, wrong value types, duplicate names, an unreadable import. What it can
store but not serve is an error in strict mode; a lenient import keeps it as written
(so the export gives it back) with a located warning, and serves the rest:

- a consumes or expose entry of a type the registry does not know, and a consumes
  namespace declared again (the first declaration serves), are *held*: kept verbatim
  in ``ParsedDocument.held`` and not stored as parts;
- a ``call`` or ``ref`` to something the document lacks is kept as written on its part,
  which answers 503 ``operation_not_served`` when called (``catalog``).

A ``with`` reference to a caller parameter the tool or operation does not declare
(RUNTIME-CONTRACT §3) is an error in strict mode and a warning otherwise.

The modules, in the order ``parse_document`` runs them: ``header`` (the version
check), ``structure`` (the walk against ``layout``), ``imports`` (import resolution),
``schema`` (the official JSON Schema), ``semantics`` with ``references`` (what spans
parts); ``document`` holds the entry point. This package exposes what the rest of the
registry uses.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from capabilities_app.store.specs.document import ParsedDocument, parse_document
from capabilities_app.store.specs.imports import (
    ConsumesEntry,
    ImportResolver,
    file_import_resolver,
)
from capabilities_app.store.specs.references import (
    dangling_message,
    dangling_references,
    path_variables,
)
from capabilities_app.store.specs.schema import schema_diagnostics

__all__ = [
    "ConsumesEntry",
    "ImportResolver",
    "ParsedDocument",
    "dangling_message",
    "dangling_references",
    "file_import_resolver",
    "parse_document",
    "path_variables",
    "schema_diagnostics",
]
