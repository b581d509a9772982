"""The models and the migrations agree (issue 11 point 1: the move into packages changed no
table, column or constraint)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_models_need_no_new_migration():
    """Issue 11 point 1: `makemigrations --check` is clean after the models moved into
    store/models/ (split by part family, shared fields on one abstract model)."""
    out = StringIO()
    call_command("makemigrations", "capabilities_app", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()
