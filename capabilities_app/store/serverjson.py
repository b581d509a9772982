"""The MCP Registry's ``server.json`` of each MCP expose (issue 13 point 4).

Every MCP expose of an enabled capability is one server of the MCP Registry API
(``GET /v0.1/servers``, ``api/servers.py``) and one file of ``manage.py
export_server_json``; both take it from here, and every document is validated against
the published schema (``schemas/mcp-server-2025-09-29.schema.json``, source in
``schemas/SOURCE.md``) before anyone sees it. What each field is made of:

- ``name``: ``<REGISTRY_MCP_NAMESPACE>/<expose namespace>`` (reverse DNS, one ``/``). An
  expose whose namespace the schema's name pattern cannot carry is not listed.
- ``title``: the capability's label (its name when it has none); ``description``: the
  expose's own (the MCP server's instructions), else the capability's, else its label,
  whitespace folded and cut to the schema's 100 characters.
- ``version``: ``1.0.<revision>``; the capability's revision moves with every import that
  changes it and every admin edit of any of its parts (``editing``), never otherwise.
- ``remotes``: one streamable HTTP remote at ``served.mcp_url`` and, when a caller needs
  a credential (``REGISTRY_REQUIRE_CLIENT_KEY``, or the expose's own
  ``authentication``), the header(s) it goes in, required and secret. Never a value.
- ``websiteUrl``: the capability's page in the catalog (``served.catalog_url``).

Reads the models and the settings; must not import httpx, the MCP SDK or a surface.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema_rs
from django.conf import settings
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Concat, Length
from django.db.models.lookups import Exact, GreaterThan, IContains

from capabilities_app.store import served
from capabilities_app.store.models import Capability, Expose

__all__ = [
    "OFFICIAL_META",
    "SCHEMA_FILE",
    "SCHEMA_URL",
    "ServerEntry",
    "ServerJsonInvalid",
    "build_document",
    "decode_cursor",
    "encode_cursor",
    "entry_of",
    "find_server",
    "list_servers",
    "revision_of",
    "server_name",
    "server_version",
    "unlisted",
    "validate",
]

SCHEMA_FILE = "mcp-server-2025-09-29.schema.json"
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"
OFFICIAL_META = "io.modelcontextprotocol.registry/official"

# The schema's own limits (checked against the vendored file by the tests).
NAME_MAX = 200
TEXT_MAX = 100  # description and title
_NAMESPACE_PART = r"^[a-zA-Z0-9._-]+$"  # what may follow the "/" of a name
_VERSION = re.compile(r"^1\.0\.(0|[1-9][0-9]*)$")


class ServerJsonInvalid(ValueError):
    """A document this module built does not validate: a defect of the registry's, never a
    caller's (the API answers 500, the command fails naming it)."""


@functools.cache
def _schema() -> dict[str, Any]:
    text = (resources.files("capabilities_app") / "schemas" / SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(_schema(), validate_formats=True)


def validate(document: dict[str, Any]) -> None:
    """Raise :class:`ServerJsonInvalid` unless ``document`` is a valid ``server.json``."""
    problems = [
        f"{'/'.join(map(str, e.instance_path)) or '<root>'}: {e.message}"
        for e in _validator().iter_errors(document)
    ]
    if problems:
        raise ServerJsonInvalid(
            f"server.json of {document.get('name')!r} is not valid: " + "; ".join(problems)
        )


# --------------------------------------------------------------------------- names, versions


def server_name(namespace: str) -> str:
    """The MCP Registry name of the MCP expose ``namespace``."""
    return f"{settings.REGISTRY_MCP_NAMESPACE}/{namespace}"


def server_version(revision: int) -> str:
    """The version of a capability's servers at ``revision``: ``1.0.<revision>``."""
    return f"1.0.{revision}"


def revision_of(version: str) -> int | None:
    """The revision a version names (``1.0.7`` → 7); None for a version never given out."""
    found = _VERSION.match(version)
    return int(found.group(1)) if found else None


def _rfc3339(moment: datetime) -> str:
    """UTC, always with microseconds: the strings sort as the moments do."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- the document


def _text(text: str | None) -> str:
    return " ".join((text or "").split())


def _cut(text: str, limit: int = TEXT_MAX) -> str:
    """``text`` in at most ``limit`` characters: whole words and an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-—") + "…"


def _description(expose: Expose, capability: Capability) -> str:
    for candidate in (expose.description, capability.description, capability.label):
        if _text(candidate):
            return _cut(_text(candidate))
    return _cut(f"MCP server {expose.namespace} of the capability {capability.name}")


def _header(name: str, description: str, value: str = "", secret: str = "") -> dict[str, Any]:
    """A header the client must send, secret; ``value`` a template naming ``secret``."""
    header: dict[str, Any] = {
        "name": name,
        "description": description,
        "isRequired": True,
        "isSecret": True,
    }
    if value:
        header["value"] = value
        header["variables"] = {
            secret: {"description": description, "isRequired": True, "isSecret": True}
        }
    return header


def _client_key_header(name: str) -> dict[str, Any]:
    tokens = " or an access token" if settings.REGISTRY_OAUTH_ISSUER else ""
    described = f"A client key of the registry{tokens}, granted this capability"
    if name == "Authorization":
        return _header(name, described, "Bearer {client_key}", "client_key")
    return _header(name, described)


def _own_headers(authentication: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The headers of an expose's own ``authentication``, and the header the registry's
    key goes in beside it (``X-API-Key``, or ``Authorization`` when that one is free)."""
    kind = authentication.get("type")
    if kind == "apikey":
        key = authentication.get("key")
        placement = authentication.get("placement") or "header"
        if placement != "header" or not isinstance(key, str) or not key or "{{" in key:
            # A query parameter, or a header named by a bind: nothing a header list says.
            return [], "X-API-Key"
        described = "The API key this MCP server asks for"
        registry = "Authorization" if key.lower() == "x-api-key" else "X-API-Key"
        return [_header(key, described)], registry
    if kind == "bearer":
        header = _header(
            "Authorization", "The bearer token this MCP server asks for", "Bearer {token}", "token"
        )
    elif kind == "basic":
        header = _header(
            "Authorization",
            "HTTP basic credentials this MCP server asks for (base64 of user:password)",
            "Basic {credentials}",
            "credentials",
        )
    else:
        header = _header("Authorization", f"The {kind} credentials this MCP server asks for")
    return [header], "X-API-Key"


def _headers(expose: Expose) -> list[dict[str, Any]]:
    """What a caller must send (access.admission and access.exposes decide the same way)."""
    own = expose.authentication if isinstance(expose.authentication, dict) else None
    headers, registry = _own_headers(own) if own else ([], "Authorization")
    key_required = settings.REGISTRY_REQUIRE_CLIENT_KEY and (
        not own or settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH
    )
    if key_required:
        headers.append(_client_key_header(registry))
    return headers


def build_document(expose: Expose) -> dict[str, Any]:
    """The ``server.json`` of one MCP expose (its capability read through the expose)."""
    capability = expose.capability
    namespace = expose.namespace or ""
    remote: dict[str, Any] = {"type": "streamable-http", "url": served.mcp_url(namespace)}
    headers = _headers(expose)
    if headers:
        remote["headers"] = headers
    return {
        "$schema": SCHEMA_URL,
        "name": server_name(namespace),
        "title": _cut(_text(capability.label) or capability.name),
        "description": _description(expose, capability),
        "version": server_version(capability.revision),
        "websiteUrl": served.catalog_url(capability.name),
        "remotes": [remote],
    }


@dataclass(frozen=True)
class ServerEntry:
    """One server of the MCP Registry API: its ``server.json`` (valid) and its dates."""

    name: str
    version: str
    capability: str
    namespace: str
    document: dict[str, Any]
    published_at: datetime  # when this version was made (the revision moved)
    updated_at: datetime  # when the capability last changed in the registry

    def response(self) -> dict[str, Any]:
        """The API's ``ServerResponse``: the document and the registry's ``_meta``."""
        return {
            "server": self.document,
            "_meta": {
                OFFICIAL_META: {
                    "status": "active",
                    "publishedAt": _rfc3339(self.published_at),
                    "updatedAt": _rfc3339(self.updated_at),
                    "isLatest": True,  # the registry keeps no older version
                }
            },
        }


def entry_of(expose: Expose) -> ServerEntry:
    """The entry of one MCP expose, its document validated."""
    document = build_document(expose)
    validate(document)
    capability = expose.capability
    return ServerEntry(
        name=document["name"],
        version=document["version"],
        capability=capability.name,
        namespace=expose.namespace or "",
        document=document,
        published_at=capability.revised_at,
        updated_at=capability.changed_at,
    )


# --------------------------------------------------------------------------- finding them


def _exposes() -> QuerySet[Expose]:
    """Every MCP expose of an enabled capability, by name (one query, capabilities joined)."""
    return (
        Expose.objects.filter(
            type=Expose.Type.MCP,
            capability__enabled=True,
            capability__kind=Capability.Kind.CAPABILITY,
            namespace__isnull=False,
        )
        .select_related("capability")
        .order_by("namespace")  # the names' order: they share one prefix
    )


def _name() -> Concat:
    """The server name, in SQL (a lookup on it is a filter of its own)."""
    return Concat(Value(f"{settings.REGISTRY_MCP_NAMESPACE}/"), F("namespace"))


def _listable(exposes: QuerySet[Expose]) -> QuerySet[Expose]:
    prefix = f"{settings.REGISTRY_MCP_NAMESPACE}/"
    return exposes.annotate(namespace_length=Length("namespace")).filter(
        namespace__regex=_NAMESPACE_PART, namespace_length__lte=NAME_MAX - len(prefix)
    )


def list_servers(
    *,
    search: str = "",
    updated_since: datetime | None = None,
    revision: int | None = None,
    after: str = "",
    limit: int | None = None,
) -> list[ServerEntry]:
    """The servers by name: ``search`` a substring of the name (any case),
    ``updated_since`` changed after that moment, ``revision`` at that revision, ``after``
    names after this one (a page's cursor), at most ``limit``."""
    exposes = _listable(_exposes())
    if search:
        exposes = exposes.filter(IContains(_name(), search))
    if updated_since is not None:
        exposes = exposes.filter(capability__changed_at__gt=updated_since)
    if revision is not None:
        exposes = exposes.filter(capability__revision=revision)
    if after:
        exposes = exposes.filter(GreaterThan(_name(), after))
    if limit is not None:
        exposes = exposes[:limit]
    return [entry_of(expose) for expose in exposes]


def find_server(name: str) -> ServerEntry | None:
    """The server named ``name``; None when no enabled MCP expose is."""
    expose = _listable(_exposes()).filter(Exact(_name(), name)).first()
    return entry_of(expose) if expose is not None else None


def unlisted() -> Iterator[tuple[str, str]]:
    """MCP exposes of enabled capabilities that are not servers, and why: (namespace, reason)."""
    listed = set(_listable(_exposes()).values_list("pk", flat=True))
    for expose in _exposes().exclude(pk__in=listed):
        yield (
            expose.namespace or "",
            f"{server_name(expose.namespace or '')!r} is not a server name the MCP Registry "
            f"accepts (at most {NAME_MAX} characters; after the '/' only letters, digits, "
            "'.', '_' and '-')",
        )


# --------------------------------------------------------------------------- cursors


def encode_cursor(name: str) -> str:
    """An opaque cursor: the page goes on after the server ``name``."""
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    """The name a cursor continues after; None for a cursor this registry never gave."""
    try:
        name = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return name if "/" in name and encode_cursor(name) == cursor else None
