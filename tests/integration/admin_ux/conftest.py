"""Fixtures of the admin UX tests (issue 14): a logged-in admin, the seeds imported."""

from __future__ import annotations

import pytest
from django.urls import reverse

from capabilities_app.store import models as m
from tests.conftest import NETBIRD, PREFECT, run_command

APP = "capabilities_app"


def import_file(path) -> m.Capability:
    result = run_command("import_capability", str(path))
    assert result.code == 0, result.stderr
    return m.Capability.objects.get(name=path.stem)


def change_url(capability: m.Capability) -> str:
    return reverse(f"admin:{APP}_capability_change", args=[capability.pk])


def yaml_url(capability: m.Capability) -> str:
    return reverse(f"admin:{APP}_capability_yaml", args=[capability.pk])


@pytest.fixture
def prefect() -> m.Capability:
    return import_file(PREFECT)


@pytest.fixture
def netbird() -> m.Capability:
    return import_file(NETBIRD)
