"""Who may call an expose: its ``authentication`` checked against the caller's request.

An expose without ``authentication`` is open. ``bearer``, ``apikey`` (header or query)
and ``basic`` compare the caller's credential with the value the document binds
(``{{VARIABLE}}``), in constant time. ``digest`` and ``oauth2`` are not verified by the
registry yet, so an expose that asks for them refuses every caller rather than
serving unauthenticated ones. stdio has no request to check: it is trusted as the
local process that started it.

Must not import Django models, httpx or the MCP SDK.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any

from capabilities_app.core.errors import NotAuthenticated
from capabilities_app.runtime.templating import Binds, render

__all__ = [
    "NO_FIELDS",
    "check",
    "credential",
    "credential_fields",
]


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def check(
    authentication: dict[str, Any] | None,
    binds: Binds,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> None:
    """Raise :class:`NotAuthenticated` unless the request carries the expose's credential.

    ``headers`` are read by lower-case name (keyed so, or case-insensitive). A secret
    the document binds but the process lacks raises ``SecretMissing`` (503), never lets
    the caller in.
    """
    if not authentication:
        return
    kind = authentication.get("type")

    def value(name: str) -> str:
        raw = authentication.get(name)
        return render(raw, (), binds) if isinstance(raw, str) else ""

    given_authorization = headers.get("authorization", "")
    if kind == "bearer":
        scheme, _, token = given_authorization.partition(" ")
        if scheme.lower() == "bearer" and _same(token.strip(), value("token")):
            return
        raise NotAuthenticated("this expose needs a bearer token (Authorization: Bearer …)")
    if kind == "apikey":
        key = value("key")
        placement = authentication.get("placement") or "header"
        given = query.get(key, "") if placement == "query" else headers.get(key.lower(), "")
        if key and _same(given, value("value")):
            return
        raise NotAuthenticated(f"this expose needs an API key in the {placement} {key!r}", "ApiKey")
    if kind == "basic":
        scheme, _, encoded = given_authorization.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if (
            scheme.lower() == "basic"
            and _same(user, value("username"))
            and _same(password, value("password"))
        ):
            return
        raise NotAuthenticated("this expose needs HTTP basic credentials", 'Basic realm="registry"')
    raise NotAuthenticated(
        f"this expose asks for {kind!r} authentication, which the registry does not verify; "
        "it refuses every caller rather than serve one unauthenticated"
    )


def credential(
    authentication: dict[str, Any] | None,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> str:
    """What tells callers of an expose apart: the credential it authenticates them with.

    An API key (from its header or query parameter) for an ``apikey`` expose, otherwise
    the ``Authorization`` header; ``''`` for a caller that sends none. Callers are only
    ever compared by a hash of this (async jobs, MCP tasks); it is never stored.
    ``headers`` are read by lower-case name (keyed so, or case-insensitive).
    """
    authorization = headers.get("authorization", "")
    if authentication and authentication.get("type") == "apikey":
        key = authentication.get("key")
        if isinstance(key, str) and key and "{{" not in key:
            placement = authentication.get("placement") or "header"
            given = query.get(key, "") if placement == "query" else headers.get(key.lower(), "")
            return f"apikey {given}" if given else authorization
    return authorization


NO_FIELDS: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


def credential_fields(
    authentication: dict[str, Any] | None, binds: Binds
) -> tuple[frozenset[str], frozenset[str]]:
    """Where an expose's own credential is besides ``Authorization``: (header names,
    lower-cased; query names). A caller's credential is never a parameter of its call."""
    if not authentication or authentication.get("type") != "apikey":
        return NO_FIELDS  # bearer and basic live in Authorization, never a parameter
    raw = authentication.get("key")
    key = render(raw, (), binds) if isinstance(raw, str) else ""
    if not key:
        return NO_FIELDS
    if (authentication.get("placement") or "header") == "query":
        return frozenset(), frozenset({key})
    return frozenset({key.lower()}), frozenset()
