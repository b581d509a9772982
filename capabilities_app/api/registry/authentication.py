"""Who calls the registry API: a client key, or a Django user (session or HTTP Basic).

A key comes as on the other surfaces (``Authorization: Bearer <key>`` or
``X-API-Key: <key>``) and is looked up from memory (``access.keytable``); a value there
that is no known, active key is 401 ``invalid_client_key``. The key is never kept,
logged or echoed: errors name its prefix at most. A user is found by DRF's session and
Basic authentication; what each may do is ``permissions``' business.

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from capabilities_app.access import keytable
from capabilities_app.access.admission import API_KEY_HEADER
from capabilities_app.access.clients import Client
from capabilities_app.core.errors import KeyNotAccepted

__all__ = ["AUTHENTICATORS", "ClientKeyAuthentication", "KeyRefused", "credential"]


class KeyRefused(exceptions.AuthenticationFailed):
    """A presented key that is unknown, revoked or expired: 401 ``invalid_client_key``."""

    default_code = "invalid_client_key"


def credential(request: Request) -> str:
    """The client key the request presents ('' for none): ``X-API-Key`` first, then a
    ``Bearer`` credential (``Basic`` is a user's password, not a key)."""
    given = request.headers.get(API_KEY_HEADER, "").strip()
    if given:
        return given
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


class ClientKeyAuthentication(authentication.BaseAuthentication):
    """A client key: ``request.auth`` is its :class:`Client`, ``request.user`` None."""

    def authenticate(self, request: Request) -> tuple[None, Client] | None:
        key = credential(request)
        if not key:
            return None
        try:
            client = keytable.find_client(key)
        except KeyNotAccepted as error:
            raise KeyRefused(error.detail) from None
        return None, client

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


# A key first (its 401 names Bearer), then a staff user's session or password.
AUTHENTICATORS = (
    ClientKeyAuthentication,
    authentication.SessionAuthentication,
    authentication.BasicAuthentication,
)
