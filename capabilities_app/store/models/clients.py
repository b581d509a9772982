"""Clients of the served surfaces: their keys, their grants, and rate-limit counters.

Imports only Django and ``store.models.parts``.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from capabilities_app.store.models.parts import NAME_VALIDATOR

__all__ = ["RATE_VALIDATOR", "ClientGrant", "ClientKey", "RateCounter"]


RATE_VALIDATOR = RegexValidator(
    r"^(off|[1-9][0-9]*/(second|minute|hour|day))$",
    "A rate is N/second, N/minute, N/hour or N/day (e.g. 600/minute), or off.",
)


def _rate_limit(help_text: str) -> models.CharField:
    """A rate such as ``600/minute`` (or ``off``); empty: the limit above applies."""
    return models.CharField(
        max_length=32, blank=True, validators=[RATE_VALIDATOR], help_text=help_text
    )


class ClientKey(models.Model):
    """A client of the REST and MCP surfaces: a key it presents, and what it may call.

    Only the key's visible ``prefix`` and a keyed hash (HMAC-SHA256, ``clients.digest``)
    are stored; the key itself is shown once, when it is made. A key without grants
    may call nothing. ``rate_limit`` overrides ``REGISTRY_RATE_LIMIT`` for this key.
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[NAME_VALIDATOR],
        help_text="Who this key is for, as commands and the admin name it.",
    )
    owner = models.CharField(max_length=200, blank=True, help_text="A person or team to ask.")
    description = models.TextField(blank=True)
    prefix = models.CharField(
        max_length=16,
        unique=True,
        editable=False,
        help_text="The key's visible start (crk_ and 8 characters): tells keys apart.",
    )
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Recorded at most once a minute."
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    rate_limit = _rate_limit(
        "Calls this key may make (e.g. 600/minute, or off); empty: REGISTRY_RATE_LIMIT."
    )

    class Meta:
        ordering = ("name",)
        verbose_name = "client key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ClientGrant(models.Model):
    """What one client key may call: a whole capability, or one name in it.

    ``target`` is what the client calls (an exposed REST operation's name, an MCP
    tool's, resource's or prompt's name), never the consumed operation behind it; empty
    grants the whole capability. ``rate_limit`` (optional) caps this key's calls to
    what the grant covers, besides the key's own limit.
    """

    key = models.ForeignKey(ClientKey, on_delete=models.CASCADE, related_name="grants")
    capability = models.CharField(
        max_length=200, help_text="The capability's name in the registry."
    )
    target = models.CharField(
        max_length=200,
        blank=True,
        help_text="An exposed operation's or tool's name; empty: the whole capability.",
    )
    rate_limit = _rate_limit("Calls this key may make to what this grant covers (e.g. 60/minute).")

    class Meta:
        ordering = ("capability", "target")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "capability", "target"], name="client_grant_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.capability}:{self.target}" if self.target else self.capability


class RateCounter(models.Model):
    """One fixed window of a rate limit, when no Redis is configured (``ratelimit``)."""

    bucket = models.CharField(max_length=255)
    window = models.BigIntegerField(help_text="The window's start, in seconds since the epoch.")
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket", "window"], name="rate_counter_window_once")
        ]

    def __str__(self) -> str:
        return f"{self.bucket}@{self.window}: {self.count}"
