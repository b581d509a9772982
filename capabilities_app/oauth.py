"""OAuth 2.1 resource server: access tokens (JWT) verified against the issuer's keys.

Work in progress (issue 10, point 3): ``verify`` is completed with the JWKS cache.

Must not import httpx... (see the final docstring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from .admission import Door
    from .clients import Client


def configured() -> bool:
    return bool(settings.REGISTRY_OAUTH_ISSUER)


def verify(token: str, door: Door) -> Client:
    raise NotImplementedError


def looks_like_token(credential: str) -> bool:
    return credential.count(".") == 2
