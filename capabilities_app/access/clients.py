"""Client keys: made, hashed, renewed and revoked; the grants and the client they carry.

A key reads ``crk_<8 characters>_<43 characters>``: the first 12 characters are its
visible ``prefix`` (stored, shown in the admin); the whole key has 256 random bits
after it. Only an HMAC-SHA256 of the key (keyed by ``REGISTRY_CLIENT_KEY_SECRET``) is
stored: a high-entropy key needs no slow password hash, and one HMAC costs about a
microsecond, so it fits every request.

Keys are looked up from memory on every call (``keytable``), rebuilt when the clients
stamp moves; saving or deleting a key or a grant moves the stamp (signals below), so a
revocation reaches every process within ``REGISTRY_CATALOG_CHECK_SECONDS``.

The commands and the admin make, renew and revoke keys only through the functions here
(``create_key``, ``rotate_secret``, ``reissue_key``, ``revoke``), and check grants with
``check_grant``: a grant names an exposed REST operation, MCP tool, resource or prompt
of a capability, or the whole capability, or is ``registry:write``: the right to import,
replace and delete capabilities through the registry API (docs/access.md,
docs/registry-api.md). It is stored as any grant (capability ``registry``, target
``write``) but read apart: it never covers a call of a capability.

Must not import ``keytable`` (which reads what this makes), httpx, the MCP SDK, or
anything of ``api/`` or ``mcp/``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from capabilities_app.core.errors import InvalidGrant, InvalidKey
from capabilities_app.store import versioning
from capabilities_app.store.models import (
    Capability,
    ClientGrant,
    ClientKey,
    ConsumedOperation,
    ExposedOperation,
    McpPrompt,
    McpResource,
    Tool,
)

__all__ = [
    "EVERYTHING",
    "KEY_FORM",
    "KEY_START",
    "PREFIX_LENGTH",
    "REGISTRY_WRITE",
    "STATUSES",
    "Client",
    "Grants",
    "MadeKey",
    "Revoked",
    "check_grant",
    "check_secret",
    "create_key",
    "digest",
    "find_key",
    "grantable_names",
    "looks_like_key",
    "new_key",
    "parse_grant",
    "reissue_key",
    "revoke",
    "revoke_all",
    "rotate_secret",
    "status_of",
    "with_status",
]

KEY_START = "crk_"
PREFIX_LENGTH = len(KEY_START) + 8
# What a key given from outside (DEMO_CLIENT_KEY) must look like: found by its prefix.
KEY_FORM = re.compile(r"crk_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")
# The grant that lets a key write through the registry API (import, replace, delete), as
# (capability, target): reserved, so it never grants a tool "write" of a capability
# named "registry".
REGISTRY_WRITE = ("registry", "write")


def digest(secret: str) -> str:
    """The keyed hash a key (or any caller credential) is stored and compared as."""
    key = settings.REGISTRY_CLIENT_KEY_SECRET.encode()
    # hmac.digest: the one-shot C HMAC (1.7 µs here against 2.7 µs for hmac.new).
    return hmac.digest(key, secret.encode(), "sha256").hex()


def new_key() -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = KEY_START + secrets.token_hex(4)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_START) and len(value) > PREFIX_LENGTH + 1


def check_secret(secret: str) -> None:
    """Refuse a key given from outside unless it has a key's form (the message never
    repeats it)."""
    if not KEY_FORM.fullmatch(secret):
        raise InvalidKey(
            "a client key reads crk_, 8 lower-case hex digits, _ and 20 or more of "
            "A-Z a-z 0-9 _ - (as create_client_key prints them)"
        )


# -- grants -------------------------------------------------------------------------


@dataclass(frozen=True)
class Grants:
    """What a client may call: whole capabilities, and single names in capabilities.

    ``limits`` holds the per-grant rate limits: ``(capability, target)`` (target ``""``
    for a whole capability) to a rate string.
    """

    whole: frozenset[str] = frozenset()
    targets: frozenset[tuple[str, str]] = frozenset()
    limits: tuple[tuple[tuple[str, str], str], ...] = ()
    registry_write: bool = False  # ``registry:write``: writes through the registry API

    @classmethod
    def parse(cls, scopes: Iterable[str]) -> Grants:
        """Grants from ``CAPABILITY`` / ``CAPABILITY:TARGET`` strings (as commands take
        them; OAuth scopes, which start with ``capability:``, are read by ``oauth``)."""
        whole: set[str] = set()
        targets: set[tuple[str, str]] = set()
        registry_write = False
        for scope in scopes:
            capability, _, target = scope.partition(":")
            if not capability:
                continue
            if (capability, target) == REGISTRY_WRITE:
                registry_write = True
            elif target:
                targets.add((capability, target))
            else:
                whole.add(capability)
        return cls(frozenset(whole), frozenset(targets), registry_write=registry_write)

    def allows(self, capability: str, target: str) -> bool:
        return capability in self.whole or (capability, target) in self.targets

    def touches(self, capability: str) -> bool:
        """Whether anything in ``capability`` is granted."""
        return capability in self.whole or any(c == capability for c, _ in self.targets)

    def limit_for(self, capability: str, target: str) -> tuple[str, str] | None:
        """The per-grant limit that covers a call, as (grant label, rate); None if none."""
        for (grant_capability, grant_target), rate in self.limits:
            if grant_capability == capability and grant_target in ("", target):
                label = f"{capability}:{grant_target}" if grant_target else capability
                return label, rate
        return None

    def __str__(self) -> str:
        names = sorted(self.whole) + sorted(f"{c}:{t}" for c, t in self.targets)
        if self.registry_write:
            names.append(":".join(REGISTRY_WRITE))
        return " ".join(names) or "(nothing)"


EVERYTHING = None  # the grants of a caller the registry does not restrict (stdio, keys off)


@dataclass(frozen=True)
class Client:
    """Who is calling, once their credential is checked: a key, or an access token."""

    id: str  # "key:<pk>" or "token:<issuer> <subject>": what jobs and limits key on
    name: str
    grants: Grants
    rate_limit: str = ""  # an override of REGISTRY_RATE_LIMIT ("" = the default)
    kind: str = "key"


# -- making and revoking keys (commands and the admin call these) ------------------------


@dataclass(frozen=True)
class MadeKey:
    key: ClientKey
    secret: str  # shown once, never stored


def parse_grant(text: str) -> tuple[str, str]:
    """``CAPABILITY`` or ``CAPABILITY:TARGET`` as (capability, target)."""
    capability, _, target = text.strip().partition(":")
    if not capability:
        raise InvalidGrant(f"a grant is CAPABILITY or CAPABILITY:OPERATION_OR_TOOL, not {text!r}")
    return capability, target


def grantable_names(capability: Capability) -> set[str]:
    """What a grant of ``capability`` can name: its exposed REST operations', MCP tools',
    resources' and prompts' names (what clients call)."""
    names: set[str] = set()
    for model, expose in (
        (ExposedOperation, "resource__expose__capability"),
        (Tool, "expose__capability"),
        (McpResource, "expose__capability"),
        (McpPrompt, "expose__capability"),
    ):
        names.update(model.objects.filter(**{expose: capability}).values_list("name", flat=True))
    names.discard("")  # an unnamed REST operation: only a whole-capability grant covers it
    return names


def check_grant(capability: str, target: str = "") -> None:
    """Refuse a grant that names no capability of the registry, or a ``target`` that is
    no exposed name of it (:class:`InvalidGrant`, saying what could be granted).

    The models are read, not the catalog: a disabled capability can be granted ahead.
    ``registry:write`` (:data:`REGISTRY_WRITE`) is always a valid grant.
    """
    if (capability, target) == REGISTRY_WRITE:
        return
    found = Capability.objects.filter(name=capability).first()
    if found is None:
        known = Capability.objects.values_list("name", flat=True)
        close = difflib.get_close_matches(capability, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidGrant(f"there is no capability {capability!r}{hint}")
    if not target:
        return
    names = grantable_names(found)
    if target in names:
        return
    detail = (
        f"{target!r} is not an exposed REST operation, MCP tool, resource or prompt "
        f"of {capability!r}"
    )
    consumed = ConsumedOperation.objects.filter(
        resource__consumes__capability=found, name=target
    ).exists()
    if consumed:
        detail += (
            "; it is a consumed operation: a grant names what the client calls, "
            "not the operation behind it"
        )
    shown = sorted(names)
    if shown:
        more = f" and {len(shown) - 30} more" if len(shown) > 30 else ""
        detail += f" (its names: {', '.join(shown[:30])}{more})"
    else:
        detail += " (it exposes no named operation, tool, resource or prompt: grant it whole)"
    raise InvalidGrant(detail, part="target")


@transaction.atomic
def create_key(
    name: str,
    *,
    grants: Iterable[str] = (),
    owner: str = "",
    description: str = "",
    expires_in_days: float | None = None,
    rate_limit: str = "",
    check: bool = True,
) -> MadeKey:
    """A new key with its grants; the secret is in the result, and only there.

    Each grant is checked (:func:`check_grant`) unless ``check`` is off; one bad grant
    and nothing is written.
    """
    secret, prefix = new_key()
    expires_at = (
        timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days is not None else None
    )
    key = ClientKey(
        name=name,
        owner=owner,
        description=description,
        prefix=prefix,
        digest=digest(secret),
        expires_at=expires_at,
        rate_limit=rate_limit,
    )
    key.full_clean()
    key.save()
    _grant(key, grants, check=check)
    return MadeKey(key, secret)


def _grant(key: ClientKey, grants: Iterable[str], *, check: bool) -> None:
    for text in grants:
        capability, target = parse_grant(text)
        if check:
            check_grant(capability, target)
        ClientGrant.objects.get_or_create(key=key, capability=capability, target=target)


def rotate_secret(key: ClientKey, secret: str | None = None) -> str:
    """Give ``key`` a new secret (``secret`` if given: :func:`check_secret`), unsaved;
    the admin's "create" shows it once. The old secret stops once the key is saved."""
    if secret is None:
        secret, prefix = new_key()
    else:
        check_secret(secret)
        prefix = secret[:PREFIX_LENGTH]
    key.prefix, key.digest = prefix, digest(secret)
    return secret


@transaction.atomic
def reissue_key(
    name: str, *, grants: Iterable[str], secret: str | None = None, **fields: str
) -> MadeKey:
    """The key ``name`` with a new secret (or ``secret``) and exactly ``grants``: made if
    missing, else given the secret, unrevoked and unexpired (the demo key, each run)."""
    key = ClientKey.objects.select_for_update().filter(name=name).first()
    if key is None:
        key = ClientKey(name=name, **fields)
    secret = rotate_secret(key, secret)
    key.revoked_at = key.expires_at = None
    key.full_clean()
    key.save()
    key.grants.all().delete()
    _grant(key, grants, check=True)
    return MadeKey(key, secret)


def find_key(name_or_prefix: str) -> ClientKey | None:
    """A key by its name, or by its prefix (``crk_1a2b3c4d``, with or without what follows)."""
    found = ClientKey.objects.filter(name=name_or_prefix).first()
    if found is None and name_or_prefix.startswith(KEY_START):
        found = ClientKey.objects.filter(prefix=name_or_prefix[:PREFIX_LENGTH]).first()
    return found


def revoke(key: ClientKey) -> bool:
    """Revoke ``key`` (kept, so its callers are told it was revoked); False if it was."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return True


@dataclass(frozen=True)
class Revoked:
    revoked: list[ClientKey]
    already: list[ClientKey]


@transaction.atomic
def revoke_all(keys: Iterable[ClientKey]) -> Revoked:
    """Revoke every key of ``keys`` (the admin's action); which were, which already were."""
    done = Revoked([], [])
    for key in keys:
        (done.revoked if revoke(key) else done.already).append(key)
    return done


STATUSES = ("active", "revoked", "expired")


def status_of(key: ClientKey, now: dt.datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired`` (revoked wins: it says more)."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= (now or timezone.now()):
        return "expired"
    return "active"


def with_status(keys: QuerySet[ClientKey], status: str) -> QuerySet[ClientKey]:
    """The keys of ``keys`` that :func:`status_of` says have ``status``."""
    now = timezone.now()
    expired = Q(expires_at__isnull=False, expires_at__lte=now)
    if status == "revoked":
        return keys.filter(revoked_at__isnull=False)
    if status == "expired":
        return keys.filter(expired, revoked_at__isnull=True)
    if status == "active":
        return keys.filter(revoked_at__isnull=True).exclude(expired)
    return keys


# -- the stamp moves with every change of a key or a grant -------------------------------


def _changed(sender, **kwargs) -> None:
    if kwargs.get("update_fields") == frozenset({"last_used_at"}):
        return
    versioning.bump("clients_version")


for _model in (ClientKey, ClientGrant):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"clients-stamp-save-{_model.__name__}")
    post_delete.connect(
        _changed, sender=_model, dispatch_uid=f"clients-stamp-delete-{_model.__name__}"
    )
