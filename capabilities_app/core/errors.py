"""Errors of the registry, as data.

Every failure the registry reports has a stable ``code`` and an HTTP ``status``.
They are raised by the domain modules and translated only at the edges: the
management commands print them, the admin shows them on its forms, the REST
surface renders them as problem+json, the MCP surface as ``isError`` results.

Must not import Django models, httpx or the MCP SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a document, located at a file, line, column and key path."""

    severity: Severity
    code: str
    message: str
    origin: str = "<document>"
    line: int = 1
    column: int = 1
    key_path: str = "<document>"

    def __str__(self) -> str:
        return f"{self.origin}:{self.line}:{self.column}: {self.key_path}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class RegistryError(Exception):
    """Base of the registry's own errors: a stable code, a status and a human detail."""

    code = "registry_error"
    status = 500
    title = "Registry error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class SpecError(RegistryError):
    """A document (or a whole import run) is invalid; ``diagnostics`` says where and why."""

    code = "invalid_document"
    status = 400
    title = "Invalid capability document"

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = [d for d in diagnostics if d.is_error]
        self.warnings = [d for d in diagnostics if not d.is_error]
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class CapabilityNotFound(RegistryError):
    code = "capability_not_found"
    status = 404
    title = "No such capability"


@dataclass
class DiagnosticList:
    """Collects diagnostics while a document is read; ``errors`` decides the outcome."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]
