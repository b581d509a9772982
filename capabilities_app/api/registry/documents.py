"""A request's YAML document, and the import and validate runs over it.

A document comes as the body (``Content-Type: application/yaml``, named by ``?name=``,
or by the URL on ``PUT``) or as a multipart upload in the field ``file`` (named by its
file name without the extension, unless ``?name=`` says otherwise). It is read up to
``REGISTRY_MAX_DOCUMENT_BYTES`` and handed to the importer exactly as the admin's Import
YAML page and ``manage.py import_capability`` hand theirs (``store.importer``:
``import_documents``, ``check_documents``; ``import`` resolved against documents already
in the registry): the same checks, the same ``FILE:LINE:COLUMN: key.path: message``
diagnostics, one transaction, nothing written when anything fails. A failure raises the
:class:`SpecError` the views answer as 400 problem+json with every diagnostic.

The body's origin (the ``FILE`` of a diagnostic) is ``NAME.yaml``; an upload's is its
file name.

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from capabilities_app.core.errors import DocumentMissing, SpecError
from capabilities_app.store.importer import (
    DocumentInput,
    Outcome,
    check_documents,
    import_documents,
    registry_import_resolver,
    text_input,
    upload_input,
)

__all__ = [
    "UPLOAD_FIELD",
    "YAML",
    "YamlBody",
    "YamlDocumentParser",
    "check",
    "document_of",
    "flag",
    "store",
]

YAML = "application/yaml"
UPLOAD_FIELD = "file"


@dataclass(frozen=True)
class YamlBody:
    """The raw bytes of an ``application/yaml`` body (one byte over the limit at most)."""

    data: bytes


class YamlDocumentParser(BaseParser):
    """``application/yaml``: the body as bytes, for the importer's own loader to read."""

    media_type = YAML

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None):
        limit = settings.REGISTRY_MAX_DOCUMENT_BYTES
        return YamlBody(stream.read(limit + 1) if stream is not None else b"")


_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter (``true``/``1``/``yes``, ``false``/``0``/``no``; absent is
    false); anything else, or the parameter given twice, is 400 ``parse_error``."""
    values = request.query_params.getlist(name)
    value = values[0].strip().lower() if len(values) == 1 else ""
    if len(values) > 1 or value not in _TRUE + _FALSE:
        raise ParseError(f"?{name}= is true or false, once")
    return value in _TRUE


def document_of(request: Request, *, name: str | None = None) -> DocumentInput:
    """The document the request carries, named ``name`` (a URL's) or as the request says.

    No document, or a body without a name: 400 ``document_missing``.
    """
    max_bytes = settings.REGISTRY_MAX_DOCUMENT_BYTES
    data = request.data
    asked = request.query_params.get("name", "").strip() or None
    if isinstance(data, YamlBody):
        named = name or asked
        if not named:
            raise DocumentMissing("an application/yaml body needs ?name=NAME")
        if not data.data.strip():
            raise DocumentMissing("the body is empty: send the YAML document")
        return text_input(f"{named}.yaml", data.data, max_bytes=max_bytes, name=named)
    upload = request.FILES.get(UPLOAD_FIELD) if hasattr(request, "FILES") else None
    if isinstance(upload, UploadedFile):
        return upload_input(
            upload.name or "document.yaml",
            upload.read,
            upload.size or 0,
            max_bytes=max_bytes,
            name=name or asked,
        )
    raise DocumentMissing(
        f"send the document as an {YAML} body (with ?name=NAME) or as a multipart "
        f"upload in the field {UPLOAD_FIELD!r}"
    )


def _refused(outcome: Outcome) -> SpecError:
    return SpecError([*outcome.errors, *outcome.warnings])


def store(document: DocumentInput, *, strict: bool, force: bool) -> Outcome:
    """Import ``document`` (created, updated or unchanged) or raise its :class:`SpecError`."""
    max_bytes = settings.REGISTRY_MAX_DOCUMENT_BYTES
    report = import_documents(
        [document],
        strict=strict,
        force=force,
        resolve_import=registry_import_resolver(max_bytes=max_bytes),
    )
    outcome = report.outcomes[0]
    if outcome.status == "failed":
        raise _refused(outcome)
    return outcome


def check(document: DocumentInput, *, strict: bool) -> Outcome:
    """Every check of an import, nothing written (``valid``), or its :class:`SpecError`."""
    max_bytes = settings.REGISTRY_MAX_DOCUMENT_BYTES
    report = check_documents(
        [document], strict=strict, resolve_import=registry_import_resolver(max_bytes=max_bytes)
    )
    outcome = report.outcomes[0]
    if outcome.status == "failed":
        raise _refused(outcome)
    return outcome
