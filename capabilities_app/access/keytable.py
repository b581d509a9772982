"""The client keys in memory: every process's table of keys and grants, and last use.

Every process keeps the keys and their grants in a table in memory (:class:`KeyTable`),
rebuilt when the clients stamp (``versioning``, read with the catalog's) moves: a warm
request reads no database. Saving or deleting a key or a grant moves the stamp
(``clients``' signals), so a revocation reaches every process within
``REGISTRY_CATALOG_CHECK_SECONDS``. Async code (the MCP gateway) looks keys up inside
:func:`from_memory`, on its event loop: there the table and "last used" never query
the database but raise :class:`NotInMemory`, and the caller asks again from a worker
thread (a cold table, a stamp due for a read, a last use to record).

:func:`find_client` is the hot path of every keyed call: one dictionary read by the
key's prefix and one HMAC.

Must not import httpx, the MCP SDK, or anything of ``api/`` or ``mcp/``; ``clients``
must not import this module (it makes keys; this reads them).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from capabilities_app.access.clients import (
    PREFIX_LENGTH,
    REGISTRY_WRITE,
    Client,
    Grants,
    digest,
    looks_like_key,
)
from capabilities_app.core import database
from capabilities_app.core.errors import KeyNotAccepted
from capabilities_app.store import versioning
from capabilities_app.store.models import ClientGrant, ClientKey

__all__ = [
    "KeyRecord",
    "KeyTable",
    "NotInMemory",
    "find_client",
    "from_memory",
    "key_table",
    "reset",
    "touch",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyRecord:
    pk: int
    name: str
    prefix: str
    digest: str
    expires_at: dt.datetime | None
    revoked: bool
    client: Client


@dataclass
class KeyTable:
    version: int
    by_prefix: dict[str, KeyRecord] = field(default_factory=dict)


def _load(version: int) -> KeyTable:
    table = KeyTable(version)
    grants: dict[int, list[ClientGrant]] = {}
    for grant in ClientGrant.objects.all():
        grants.setdefault(grant.key_id, []).append(grant)
    for key in ClientKey.objects.all():
        every = grants.get(key.pk, [])
        # registry:write is read apart: it covers no call of a capability.
        rows = [g for g in every if (g.capability, g.target) != REGISTRY_WRITE]
        client = Client(
            id=f"key:{key.pk}",
            name=key.name,
            grants=Grants(
                whole=frozenset(g.capability for g in rows if not g.target),
                targets=frozenset((g.capability, g.target) for g in rows if g.target),
                limits=tuple(
                    ((g.capability, g.target), g.rate_limit) for g in rows if g.rate_limit
                ),
                registry_write=len(rows) != len(every),
            ),
            rate_limit=key.rate_limit,
        )
        table.by_prefix[key.prefix] = KeyRecord(
            pk=key.pk,
            name=key.name,
            prefix=key.prefix,
            digest=key.digest,
            expires_at=key.expires_at,
            revoked=key.revoked_at is not None,
            client=client,
        )
    return table


_kept = versioning.Kept(versioning.current_clients_version, versioning.is_clients_fresh, _load)


class NotInMemory(Exception):
    """Inside :func:`from_memory`: the answer needs the database (ask from a thread)."""


_memory_only: ContextVar[bool] = ContextVar("clients_memory_only", default=False)


@contextmanager
def from_memory() -> Iterator[None]:
    """Within it, :func:`key_table` and :func:`touch` never query the database: they
    raise :class:`NotInMemory` instead (for an event loop, which must not block)."""
    token = _memory_only.set(True)
    try:
        yield
    finally:
        _memory_only.reset(token)


def key_table() -> KeyTable:
    """The keys as of the clients stamp (rebuilt when it moved; kept during an outage)."""
    if _memory_only.get():
        table = _kept.peek()
        if table is None:
            raise NotInMemory
        return table
    return _kept.get()


def reset() -> None:
    """Forget the table and the touches (tests)."""
    _kept.forget()
    _touched.clear()


def find_client(key: str) -> Client:
    """The client a presented key belongs to; :class:`KeyNotAccepted` otherwise.

    The detail names the key only by its prefix; the key itself appears nowhere.
    """
    prefix = key[:PREFIX_LENGTH]
    record = key_table().by_prefix.get(prefix) if looks_like_key(key) else None
    if record is None or not hmac.compare_digest(record.digest, digest(key)):
        raise KeyNotAccepted("this client key is not known to the registry")
    if record.revoked:
        raise KeyNotAccepted(f"the client key {record.prefix}… was revoked")
    if record.expires_at is not None and record.expires_at <= timezone.now():
        raise KeyNotAccepted(f"the client key {record.prefix}… expired")
    touch(record.pk)
    return record.client


# -- last use -------------------------------------------------------------------------

_touched: dict[int, float] = {}


def touch(pk: int) -> None:
    """Record a key's use in the database, at most every REGISTRY_CLIENT_KEY_TOUCH_SECONDS.

    One UPDATE per key per interval per process; never fails the call it records.
    """
    now = time.monotonic()
    last = _touched.get(pk)
    if last is not None and now - last < settings.REGISTRY_CLIENT_KEY_TOUCH_SECONDS:
        return
    if _memory_only.get():
        raise NotInMemory  # recorded by the same lookup, asked again from a thread
    _touched[pk] = now
    try:
        ClientKey.objects.filter(pk=pk).update(last_used_at=timezone.now())
    except database.UNAVAILABLE:
        database.discard()  # the call goes on; its use is recorded next time
    except Exception:  # a locked SQLite file, say: "last used" is best effort
        logger.warning("could not record the use of client key %s", pk, exc_info=True)
