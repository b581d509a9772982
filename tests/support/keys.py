"""Client keys for tests: made through the same domain function the command and admin use."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from capabilities_app.access import clients


def make_key(name: str, *grants: str, expires_in_days: float | None = None, **fields) -> str:
    """A new key with ``grants`` (``CAPABILITY`` or ``CAPABILITY:NAME``); its secret.

    The grants are not checked against the registry (``clients.check_grant``): tests may
    grant before they load, or grant what no capability has.
    """
    made = clients.create_key(
        name, grants=grants, expires_in_days=expires_in_days, check=False, **fields
    )
    return made.secret


def expire(name: str) -> None:
    """Make the key ``name`` expired (a second ago)."""
    from capabilities_app.store.models import ClientKey

    key = ClientKey.objects.get(name=name)
    key.expires_at = timezone.now() - dt.timedelta(seconds=1)
    key.save()


def revoke(name: str) -> None:
    from capabilities_app.store.models import ClientKey

    clients.revoke(ClientKey.objects.get(name=name))
