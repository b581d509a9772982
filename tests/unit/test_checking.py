"""The one-line verdict of validating a capability (``checking.Validation``), no database."""

from __future__ import annotations

from capabilities_app.core.errors import Diagnostic
from capabilities_app.store.checking import Validation


def error(key_path: str, message: str) -> Diagnostic:
    return Diagnostic("error", "test", message, key_path=key_path)


def test_a_capability_the_lenient_read_refuses_is_invalid_naming_its_first_error() -> None:
    """Issue 11 point 1: the admin's validate action shows this message as an error."""
    found = Validation(
        name="cap",
        ok=False,
        strict_ok=False,
        warnings=0,
        errors=[error("capability.exposes", "missing"), error("capability.binds", "bad")],
        strict_errors=[error("x", "y")],
    )
    assert found.verdict == "invalid"
    assert found.message == "cap: invalid: capability.exposes: missing"


def test_a_capability_both_reads_accept_is_valid_strict() -> None:
    """Issue 11 point 1: the admin's validate action shows this message as a success."""
    found = Validation(name="cap", ok=True, strict_ok=True, warnings=0)
    assert found.verdict == "strict"
    assert found.message == "cap: valid (strict)"


def test_a_capability_only_the_lenient_read_accepts_counts_warnings_and_strict_errors() -> None:
    """Issue 11 point 1: the admin's validate action shows this message as a warning."""
    found = Validation(
        name="cap",
        ok=True,
        strict_ok=False,
        warnings=3,
        strict_errors=[error("capability.info", "unknown key"), error("a", "b")],
    )
    assert found.verdict == "lenient"
    assert found.message == (
        "cap: valid with 3 warnings; strict mode finds 2 errors, "
        "first: capability.info: unknown key"
    )
