"""What the admin's checks decide, called as the domain functions they are (``checking``)."""

from __future__ import annotations

import pytest
from django.conf import settings

from capabilities_app.store import checking
from capabilities_app.store import models as m
from tests.conftest import PREFECT, SHIPYARD, run_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipyard() -> None:
    assert run_command("import_capability", str(SHIPYARD)).code == 0


def test_validate_reads_a_strictly_valid_capability_as_strict(shipyard) -> None:
    """Issue 11 point 1: the validation the admin's action shows, without the admin."""
    capability = m.Capability.objects.get(name="shipyard-fleet")
    found = checking.validate(capability, max_bytes=settings.REGISTRY_MAX_DOCUMENT_BYTES)
    assert (found.verdict, found.message) == ("strict", "shipyard-fleet: valid (strict)")


def test_validate_reads_a_lenient_capability_with_its_strict_errors() -> None:
    """Issue 11 point 1: a catalog document passes leniently; strict mode finds errors."""
    assert run_command("import_capability", str(PREFECT)).code == 0
    capability = m.Capability.objects.get(name="prefect-account-billing")
    found = checking.validate(capability, max_bytes=settings.REGISTRY_MAX_DOCUMENT_BYTES)
    assert found.verdict == "lenient"
    assert found.strict_errors
    assert found.message.startswith("prefect-account-billing: valid with ")


def test_unchanged_parameter_names_leave_no_reference_dangling(shipyard) -> None:
    """Issue 11 point 1: the parameters inline is checked only when its names change."""
    tool = m.Tool.objects.get(name="get-ship")
    names = list(tool.parameters.values_list("name", flat=True))
    assert checking.parameter_errors(tool, names) == []


def test_renaming_a_referenced_parameter_leaves_its_reference_dangling(shipyard) -> None:
    """Issue 11 point 1: the message the tool page's parameters inline shows."""
    tool = m.Tool.objects.get(name="get-ship")
    (message,) = checking.parameter_errors(tool, ["imo_code"])
    assert message.startswith(
        "with.imo_number: fleet-tools.imo names no parameter of tool 'get-ship'"
    )


def test_a_caller_declaring_its_references_has_no_errors(shipyard) -> None:
    """Issue 11 point 1: the check of a tool's own ``with`` values, as stored."""
    tool = m.Tool.objects.get(name="get-ship")
    assert checking.caller_errors(tool) == []
