"""Fixtures of the REST surface tests: a real upstream on 127.0.0.1 and a REST client."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from capabilities_app.store import versioning
from capabilities_app.store.importer import file_inputs, import_documents, text_input
from capabilities_app.store.models import Capability, Consumes
from capabilities_app.store.specs import file_import_resolver


@pytest.fixture
def api(settings) -> Client:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    return Client(HTTP_HOST="127.0.0.1")


def load(
    document: str | Path, *, base_uri: str | None = None, name: str | None = None
) -> Capability:
    """Import a document (YAML text or a file) and point every consumes at ``base_uri``."""
    max_bytes = django_settings.REGISTRY_MAX_DOCUMENT_BYTES
    if isinstance(document, Path):
        inputs = file_inputs([document], max_bytes=max_bytes, name=name)
    else:
        inputs = [
            text_input(f"{name or 'doc'}.yaml", textwrap.dedent(document), max_bytes=max_bytes)
        ]
    report = import_documents(inputs, resolve_import=file_import_resolver(max_bytes=max_bytes))
    outcome = report.outcomes[0]
    assert outcome.status in ("created", "updated", "unchanged"), [str(e) for e in outcome.errors]
    capability = Capability.objects.get(pk=outcome.capability_id)
    if base_uri is not None:
        Consumes.objects.filter(capability=capability).update(base_uri=base_uri)
        versioning.bump()
    return capability
