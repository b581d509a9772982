"""What a caller may do with the registry API.

- Reads (and ``/validate``, which writes nothing) need a valid credential, a client key
  (any grants) or a staff user, when ``REGISTRY_REQUIRE_CLIENT_KEY`` is on; they are
  open when it is off.
- Writes (``POST``, ``PUT``, ``DELETE``) need a staff user (session, with its CSRF
  token, or HTTP Basic) holding the model permission the admin would ask for
  (``add_capability`` to create, ``change_capability`` to replace, ``delete_capability`` to
  delete; a superuser has them all), or a client key granted ``registry:write``.

No credential: 401 ``not_authenticated``; a credential without the right: 403
``not_granted``. Both problem+json (``api.problems``). They are DRF exceptions, not the
registry's own errors, because DRF's browsable API asks the permission whether to show
its forms and expects a refusal in DRF's terms; the codes are the registry's.

Must not import another surface, httpx or the MCP SDK.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from capabilities_app.access.clients import Client

__all__ = ["Refused", "RegistryAccess", "Unauthenticated", "writes"]

# The admin's model permissions a staff user needs for each write (PUT may create too).
PERMISSIONS = {
    "POST": ("capabilities_app.add_capability",),
    "PUT": ("capabilities_app.add_capability", "capabilities_app.change_capability"),
    "DELETE": ("capabilities_app.delete_capability",),
}
WHO = (
    "a client key (Authorization: Bearer <key> or X-API-Key: <key>) or a staff user "
    "(session or HTTP Basic)"
)
WRITER = (
    "a client key granted registry:write (Authorization: Bearer <key> or X-API-Key: "
    "<key>) or a staff user (session or HTTP Basic)"
)


class Refused(exceptions.PermissionDenied):
    """403 ``not_granted``: the caller is known but may not do this."""

    default_code = "not_granted"


class Unauthenticated(exceptions.APIException):
    """401 ``not_authenticated``: the caller sent no credential (the view adds
    ``WWW-Authenticate: Bearer``)."""

    status_code = 401
    default_code = "not_authenticated"
    default_detail = "Authentication credentials were not provided."


def writes(request: Request, view: Any) -> bool:
    """Whether the request changes the registry (a view may say it never does)."""
    return getattr(view, "writes", True) and request.method not in SAFE_METHODS


class RegistryAccess(BasePermission):
    """Sets ``message`` to say what is missing; the view raises :class:`Unauthenticated`
    (no credential) or :class:`Refused` with it."""

    message = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        staff = bool(user is not None and user.is_active and user.is_staff)
        client = request.auth if isinstance(request.auth, Client) else None
        if not writes(request, view):
            if staff or client is not None or not settings.REGISTRY_REQUIRE_CLIENT_KEY:
                return True
            self.message = f"the registry API needs {WHO}"
        elif (staff and user.has_perms(PERMISSIONS.get(request.method or "", ()))) or (
            client is not None and client.grants.registry_write
        ):
            return True
        elif staff:
            needed = ", ".join(PERMISSIONS.get(request.method or "", ()))
            self.message = f"the user {user.get_username()!r} lacks the permission {needed}"
            return False
        elif client is not None:
            self.message = f"the client {client.name!r} has no grant for registry:write"
        else:
            self.message = f"writing to the registry needs {WRITER}"
        if user is not None and not staff:
            self.message = f"the user {user.get_username()!r} is not staff"
        return False
