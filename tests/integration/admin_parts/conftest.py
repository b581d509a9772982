"""Fixtures of the part pages' tests: a logged-in admin, the Prefect fixture, and
generated capabilities of any size (``tests.support.documents.generate``)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from capabilities_app.store import models as m
from capabilities_app.store.importer import import_documents, text_input
from tests.conftest import CORPUS, NETBIRD, PREFECT, SHIPYARD, run_command
from tests.support.documents import generate

PREFECT_NAME = "prefect-account-billing"


@pytest.fixture
def prefect() -> m.Capability:
    result = run_command("import_capability", str(PREFECT))
    assert result.code == 0, result.stderr
    return m.Capability.objects.get(name=PREFECT_NAME)


def generated(n: int) -> m.Capability:
    """Import a capability of ``n`` consumed operations, ``n`` REST operations and ``n``
    MCP tools (its consumes namespace made its own, so several sizes can live together)."""
    text = generate(n).replace("namespace: bench\n", f"namespace: bench{n}\n")
    text = text.replace("call: bench.", f"call: bench{n}.")
    name = f"generated-{n}"
    max_bytes = django_settings.REGISTRY_MAX_DOCUMENT_BYTES
    report = import_documents([text_input(f"{name}.yaml", text.encode(), max_bytes=max_bytes)])
    assert report.ok, [str(d) for o in report.outcomes for d in o.errors]
    return m.Capability.objects.get(name=name)


TUTORIAL = CORPUS / "naftiko__framework" / "tutorial"


@pytest.fixture
def every_part() -> None:
    """Documents that between them hold a row of every part model: aggregates and refs
    (step 10), MCP resources and prompts, parameters at every level."""
    for path in (
        NETBIRD,
        SHIPYARD,
        TUTORIAL / "shared" / "step7-registry-consumes.yml",
        TUTORIAL / "shared" / "legacy-consumes.yaml",
        TUTORIAL / "step-10-shipyard-rest-adapter.yml",
        CORPUS / "naftiko__framework" / "mcp-resources-prompts-capability.yaml",
    ):
        result = run_command("import_capability", str(path))
        assert result.code == 0, result.stderr


def part_models() -> list[type]:
    """Every model with its own part page (not the capability, jobs, keys, the stamp)."""
    from django.contrib import admin

    from capabilities_app.admin.base import PartAdmin

    return [
        model
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, PartAdmin) and model is not m.Capability
    ]
