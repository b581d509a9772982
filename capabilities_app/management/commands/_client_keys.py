"""What the client key commands print about a key (never its secret, never its digest)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import OutputWrapper

from capabilities_app.access import clients
from capabilities_app.store.models import ClientKey


def when(moment: dt.datetime | None, empty: str = "-") -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else empty


def label(key: ClientKey) -> str:
    return f"{key.name} ({key.prefix}…)"


def grants_of(key: ClientKey) -> list[str]:
    return sorted(str(grant) for grant in key.grants.all())


def rate_limit_of(key: ClientKey) -> str:
    return key.rate_limit or f"REGISTRY_RATE_LIMIT ({settings.REGISTRY_RATE_LIMIT})"


def errors_of(error: ValidationError) -> str:
    """``field: message; …`` of a model validation error."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return "; ".join(error.messages)


def note(stream: OutputWrapper, text: str) -> None:
    """Information on stderr, uncoloured (stderr's colour means an error)."""
    stream.write(text, style_func=lambda line: line)


def describe(key: ClientKey, expiry_note: str = "") -> str:
    """What a new key grants, when it expires and its limit (stderr of the commands)."""
    grants = grants_of(key)
    return "\n".join(
        [
            f"  grants: {', '.join(grants) if grants else 'none (this key may call nothing yet)'}",
            f"  expires: {when(key.expires_at, 'never')}{expiry_note}",
            f"  rate limit: {rate_limit_of(key)}",
            f"  status: {clients.status_of(key)}",
        ]
    )
