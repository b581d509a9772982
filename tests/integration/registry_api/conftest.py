"""Fixtures of the registry API tests: a client, the seeds imported by the command, a
staff user, keys with and without ``registry:write``."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import PREFECT, SHIPYARD, run_command
from tests.support.keys import make_key

API = "/api/v1"
CAPABILITIES = f"{API}/capabilities/"
STAFF_PASSWORD = "staff-password-for-tests"


@pytest.fixture
def client(settings) -> Client:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    return Client(HTTP_HOST="127.0.0.1")


@pytest.fixture
def seeds():
    """The Prefect and shipyard seeds, imported as ``manage.py import_capability`` does."""
    for path in (PREFECT, SHIPYARD):
        result = run_command("import_capability", str(path))
        assert result.code == 0, result.stderr


@pytest.fixture
def staff(db):
    """A staff user with the admin's permissions on capabilities (add, change, delete)."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        "registry-staff", password=STAFF_PASSWORD, is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="capabilities_app",
            codename__in=("add_capability", "change_capability", "delete_capability"),
        )
    )
    return user


@pytest.fixture
def staff_basic(staff) -> dict[str, str]:
    """HTTP Basic headers of the staff user."""
    token = base64.b64encode(f"{staff.username}:{STAFF_PASSWORD}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def writer_key(db) -> str:
    return make_key("registry-writer", "registry:write")


@pytest.fixture
def writer(writer_key) -> dict[str, str]:
    """Headers of a client key granted registry:write."""
    return {"HTTP_AUTHORIZATION": f"Bearer {writer_key}"}


@pytest.fixture
def reader(db) -> dict[str, str]:
    """Headers of a client key with a grant of a capability only (no registry:write)."""
    return {"HTTP_X_API_KEY": make_key("registry-reader", "shipyard-fleet")}
