"""Who is calling a surface, and whether they may call this: client keys and tokens.

Every REST call and every MCP request over HTTP passes here before anything else runs
(docs/access.md). :func:`identify` reads the caller's registry credential
(``X-API-Key: <key>`` or ``Authorization: Bearer <key or access token>``) and answers
the :class:`~capabilities_app.access.clients.Client` it belongs to, or None for a caller the
registry does not restrict (keys not required and none sent; or an expose that declares
its own ``authentication``, which then decides alone unless
``REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH``). :func:`authorize` checks a client's grants
for one name it calls. Failures are registry errors: 401 with ``WWW-Authenticate``
(no, unknown, revoked or expired credential), 403 (not granted; ``insufficient_scope``
for a token).

The credential's value is never kept: a key is hashed (``clients.digest``) to find its
row, a token is verified and dropped; neither reaches an upstream (``runtime`` never
forwards ``Authorization`` or ``X-API-Key``), a job row, a log line or an error.

Must not import httpx, the MCP SDK, or anything of ``api/`` or ``mcp/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from capabilities_app.access import clients, keytable, oauth
from capabilities_app.access.clients import Client
from capabilities_app.core.errors import (
    InsufficientScope,
    KeyNotAccepted,
    NotAuthenticated,
    NotGranted,
)

__all__ = [
    "API_KEY_HEADER",
    "Door",
    "authorize",
    "authorize_capability",
    "challenge",
    "credential_header",
    "identify",
    "identify_in_memory",
    "scope_of",
]

API_KEY_HEADER = "x-api-key"


@dataclass(frozen=True)
class Door:
    """One surface of one expose, as a caller reaches it."""

    surface: str  # "rest" or "mcp"
    namespace: str
    capability: str
    authentication: dict[str, Any] | None = None  # the expose's own, from the document

    @property
    def resource(self) -> str:
        """The resource identifier (RFC 8707/9728): the expose's public URL."""
        if self.surface == "mcp":
            return f"{settings.REGISTRY_MCP_PUBLIC_URL}/mcp/{self.namespace}"
        return f"{settings.REGISTRY_PUBLIC_URL}/rest/{self.namespace}"

    @property
    def metadata_url(self) -> str:
        """Where the protected-resource metadata of this resource is (RFC 9728 §3.1)."""
        base = (
            settings.REGISTRY_MCP_PUBLIC_URL
            if self.surface == "mcp"
            else (settings.REGISTRY_PUBLIC_URL)
        )
        return f"{base}/.well-known/oauth-protected-resource/{self.surface}/{self.namespace}"


def challenge(door: Door, **params: str) -> str:
    """A ``WWW-Authenticate: Bearer`` value naming the resource's metadata (RFC 9728 §5.1).

    Values keep only the characters RFC 6750 §3 allows in them (printable ASCII but
    ``"`` and ``\\``): a detail that quotes something can never break the header.
    """
    parts = [f'{name}="{_quotable(value)}"' for name, value in params.items() if value]
    parts.append(f'resource_metadata="{door.metadata_url}"')
    return "Bearer " + ", ".join(parts)


def _quotable(value: str) -> str:
    return "".join(c for c in value if " " <= c <= "~" and c not in '"\\')


def credential_header(door: Door, headers: Mapping[str, str]) -> str:
    """The header the caller's registry credential is in (lower-case; '' for none).

    Only the headers the expose's own authentication leaves are read. That header is
    never a parameter of the call and never forwarded, even by a forward that trusts it.
    """
    if door.authentication and not settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH:
        return ""
    return _registry_credential(door, headers)[0]


def _registry_credential(door: Door, headers: Mapping[str, str]) -> tuple[str, str]:
    """(header, value) of the caller's registry credential, from the headers the expose's
    own check leaves."""
    authentication = door.authentication or {}
    own = authentication.get("type")
    own_header = ""
    if own == "apikey" and (authentication.get("placement") or "header") == "header":
        own_header = str(authentication.get("key") or "").lower()
    if own_header != API_KEY_HEADER:
        given = headers.get(API_KEY_HEADER, "").strip()
        if given:
            return API_KEY_HEADER, given
    if own in ("bearer", "basic"):
        return "", ""  # Authorization is the expose's credential
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "authorization", value.strip()
    return "", ""


def identify(door: Door, headers: Mapping[str, str]) -> Client | None:
    """The client calling ``door``; None when the registry does not restrict this call.

    ``headers`` are read by lower-case name (keyed so, or case-insensitive).
    """
    if door.authentication and not settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH:
        return None  # the expose's own authentication decides (checked by the surface)
    credential = _registry_credential(door, headers)[1]
    if not credential:
        if not settings.REGISTRY_REQUIRE_CLIENT_KEY:
            return None
        where = (
            "X-API-Key: <key>"
            if door.authentication
            else "Authorization: Bearer <key> or X-API-Key: <key>"
        )
        raise NotAuthenticated(f"this registry needs a client key ({where})", challenge(door))
    if clients.looks_like_key(credential):
        try:
            return keytable.find_client(credential)
        except KeyNotAccepted as error:
            error.challenge = challenge(door, error="invalid_token")
            raise
    if oauth.configured() and oauth.looks_like_token(credential):
        return oauth.verify(credential, door)
    if not settings.REGISTRY_REQUIRE_CLIENT_KEY:
        return None  # keys optional: a bearer value that is no key is not the registry's
    refused = KeyNotAccepted("this client key is not known to the registry")
    refused.challenge = challenge(door, error="invalid_token")
    raise refused


def identify_in_memory(door: Door, headers: Mapping[str, str]) -> Client | None:
    """:func:`identify`, answered from memory alone, for code on an event loop.

    Raises :class:`keytable.NotInMemory` when the answer needs I/O (a key table to
    rebuild, a key's last use to record, an access token, whose verification may fetch
    the issuer's keys): the caller then runs :func:`identify` in a worker thread. A
    warm request with a key is answered here: a hash and a dictionary lookup.
    """
    if not door.authentication or settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH:
        credential = _registry_credential(door, headers)[1]
        if credential and not clients.looks_like_key(credential) and oauth.configured():
            raise keytable.NotInMemory
    with keytable.from_memory():
        return identify(door, headers)


def scope_of(capability: str, target: str = "") -> str:
    """The OAuth scope that grants a call (docs/access.md)."""
    return f"capability:{capability}:{target}" if target else f"capability:{capability}"


def authorize(client: Client | None, door: Door, target: str) -> None:
    """Raise 403 unless ``client`` may call ``target`` (an operation, tool, resource or
    prompt name) of ``door``'s capability."""
    if client is None or client.grants.allows(door.capability, target):
        return
    _refuse(client, door, f"{door.capability}:{target}", scope_of(door.capability, target))


def authorize_capability(client: Client | None, door: Door) -> None:
    """Raise 403 unless ``client`` may call something of ``door``'s capability."""
    if client is None or client.grants.touches(door.capability):
        return
    _refuse(client, door, door.capability, scope_of(door.capability))


def _refuse(client: Client, door: Door, what: str, scope: str) -> None:
    if client.kind == "token":
        raise InsufficientScope(
            f"this token's scopes do not include {scope}",
            challenge(door, error="insufficient_scope", scope=scope),
        )
    raise NotGranted(f"the client {client.name!r} has no grant for {what}")
