"""OAuth 2.1 resource server: access tokens (JWT) verified against the issuer's keys.

Optional (docs/access.md, "OAuth 2.1 (optional)"): on when ``REGISTRY_OAUTH_ISSUER`` and
``REGISTRY_OAUTH_JWKS_URL`` (or ``REGISTRY_OAUTH_JWKS_FILE``) are set. A bearer value
shaped like a JWT is then checked by :func:`verify` with PyJWT:

- the signature, with the key of the issuer's JWKS its ``kid`` names, and only with an
  asymmetric algorithm (:data:`ALGORITHMS`); the key decides its algorithm (its ``alg``
  in the JWKS, or its type's default: RS256 for an RSA key), so ``none``, HS256 keyed
  with the public key, or any algorithm swap fails;
- ``exp`` (required) and ``nbf``, with :data:`LEEWAY_SECONDS` of clock skew;
- ``iss`` equal to ``REGISTRY_OAUTH_ISSUER``; ``sub`` present;
- ``aud`` holding the resource's own URL (RFC 8707, ``admission.Door.resource``): a
  token for the MCP server, or for another namespace, is not one for this door.

Scopes (``scope``, space-separated, or ``scp``, a list) become grants:
``capability:NAME`` the whole capability, ``capability:NAME:TARGET`` one exposed
operation, tool, resource or prompt; other scopes are ignored.

The JWKS is fetched by PyJWT's ``PyJWKClient`` (kept :data:`JWKS_LIFESPAN_SECONDS`,
fetched again before that only for a ``kid`` it does not hold, at most every
:data:`JWKS_COOLDOWN_SECONDS`); the keys last fetched keep serving while the issuer is
unreachable. A file is read once. Keys that cannot be had at all answer 503
``jwks_unavailable`` (logged once per outage), never 401: the caller did nothing wrong.

A verified token is kept in memory, by its SHA-256, until its ``exp`` (at most
:data:`CACHE_SIZE` of them): a warm request costs a hash and a dict lookup, not an RSA
verification. The token's value itself is never kept, logged or put in an error.

Must not import httpx, models, the MCP SDK, or anything of ``api/`` or ``mcp/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from django.conf import settings
from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWKClientError, PyJWKSetError, PyJWTError

from capabilities_app.access.clients import Client, Grants
from capabilities_app.core.errors import InvalidToken, KeysUnavailable

__all__ = [
    "ALGORITHMS",
    "CACHE_SIZE",
    "JWKS_COOLDOWN_SECONDS",
    "JWKS_LIFESPAN_SECONDS",
    "JWKS_RETRY_SECONDS",
    "JWKS_TIMEOUT_SECONDS",
    "LEEWAY_SECONDS",
    "SCOPE_PREFIX",
    "cached_tokens",
    "configured",
    "grants_of",
    "looks_like_token",
    "reset",
    "verify",
]

if TYPE_CHECKING:
    from capabilities_app.access.admission import Door

logger = logging.getLogger(__name__)

# Asymmetric only: a symmetric (HS*) key would have to be shared with every resource
# server, and "none" is no signature at all.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
SCOPE_PREFIX = "capability:"
CACHE_SIZE = 10_000  # verified tokens kept per process
JWKS_LIFESPAN_SECONDS = 300  # a fetched JWKS is used this long before it is fetched again
JWKS_COOLDOWN_SECONDS = 30  # an unknown kid fetches the JWKS again at most this often
JWKS_TIMEOUT_SECONDS = 5  # for one JWKS fetch
JWKS_RETRY_SECONDS = 10  # with no keys at all, a failed fetch is tried again after this


def configured() -> bool:
    """Whether access tokens are accepted: an issuer, and where its keys are."""
    return bool(
        settings.REGISTRY_OAUTH_ISSUER
        and (settings.REGISTRY_OAUTH_JWKS_URL or settings.REGISTRY_OAUTH_JWKS_FILE)
    )


def looks_like_token(credential: str) -> bool:
    """A JWT's shape (three dot-separated parts); a client key has none."""
    return credential.count(".") == 2


_clock = time.time  # the time a cached token's exp is compared with (tests move it)


def verify(token: str, door: Door) -> Client:
    """The client an access token for ``door``'s resource belongs to.

    Raises :class:`InvalidToken` (401, with its ``WWW-Authenticate`` challenge) or
    :class:`KeysUnavailable` (503).
    """
    state = _state()
    digest = hashlib.sha256(token.encode()).digest()
    hit = state.tokens.get(digest)
    if hit is not None:
        if _clock() < hit.expires:
            if door.resource in hit.audiences:
                return hit.client
            raise _invalid(door, _audience_detail(door))
        state.tokens.pop(digest, None)
    claims = _decode(token, door, state)
    client = Client(
        id=f"token:{claims['iss']} {claims['sub']}",
        name=str(claims["sub"]),
        grants=grants_of(claims),
        kind="token",
    )
    audience = claims["aud"]
    audiences = frozenset([audience] if isinstance(audience, str) else audience)
    state.remember(digest, _Verified(client, audiences, float(claims["exp"])))
    return client


def grants_of(claims: dict[str, Any]) -> Grants:
    """The grants a token's ``scope`` (space-separated) or ``scp`` (a list) carry."""
    names: list[str] = []
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            names.extend(value.split())
        elif isinstance(value, list):
            names.extend(v for v in value if isinstance(v, str))
    whole: set[str] = set()
    targets: set[tuple[str, str]] = set()
    for name in names:
        if not name.startswith(SCOPE_PREFIX):
            continue  # openid, email, another API's scopes: not the registry's
        capability, colon, target = name[len(SCOPE_PREFIX) :].partition(":")
        if not capability or (colon and not target):
            continue  # "capability:" or "capability:NAME:" name nothing
        if target:
            targets.add((capability, target))
        else:
            whole.add(capability)
    return Grants(frozenset(whole), frozenset(targets))


def cached_tokens() -> int:
    """How many verified tokens this process keeps (tests, diagnostics)."""
    return len(_state().tokens)


def reset() -> None:
    """Forget the keys and the verified tokens (tests)."""
    global _current
    _current = None


# -- checking one token ---------------------------------------------------------------


def _invalid(door: Door, detail: str) -> InvalidToken:
    from capabilities_app.access.admission import challenge  # admission imports this module

    return InvalidToken(detail, challenge(door, error="invalid_token", error_description=detail))


def _audience_detail(door: Door) -> str:
    return f"this token's audience does not include this resource ({door.resource})"


def _decode(token: str, door: Door, state: _State) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except PyJWTError:
        raise _invalid(door, "this is not a well-formed JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise _invalid(
            door, "this token's algorithm is not accepted (" + ", ".join(ALGORITHMS) + " only)"
        )
    kid = header.get("kid")
    key = state.keys.signing_key(kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise _invalid(door, "no key of the issuer matches this token's kid")
    issuer = settings.REGISTRY_OAUTH_ISSUER
    try:
        return jwt.decode(
            token,
            key,
            algorithms=list(ALGORITHMS),
            audience=door.resource,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        detail = "this token expired"
    except jwt.ImmatureSignatureError:
        detail = "this token is not valid yet"
    except jwt.InvalidAudienceError:
        detail = _audience_detail(door)
    except jwt.InvalidIssuerError:
        detail = f"this token was not issued by {issuer}"
    except jwt.MissingRequiredClaimError as error:
        detail = f"this token has no {error.claim} claim"
    except jwt.InvalidSignatureError:
        detail = "this token's signature does not verify with the issuer's key"
    except jwt.InvalidAlgorithmError:
        detail = "this token's algorithm is not its key's"
    except PyJWTError:
        detail = "this token is not valid"
    raise _invalid(door, detail)


# -- the issuer's keys ----------------------------------------------------------------


def _usable(jwk_set: PyJWKSet) -> dict[str, PyJWK]:
    """The signing keys of a JWKS the registry verifies with, by kid."""
    return {
        key.key_id: key
        for key in jwk_set.keys
        if key.key_id and key.public_key_use in ("sig", None) and key.algorithm_name in ALGORITHMS
    }


def _jwk_set(data: Any) -> PyJWKSet:
    """A JWKS document checked to hold a usable signing key (ValueError otherwise)."""
    if not isinstance(data, dict):
        raise ValueError("the JWKS is not a JSON object")
    try:
        jwk_set = PyJWKSet.from_dict(data)
    except PyJWTError as error:
        raise ValueError(str(error)) from None
    if not _usable(jwk_set):
        raise ValueError("the JWKS holds no signing key with a kid and an asymmetric algorithm")
    return jwk_set


class _UrlKeys(PyJWKClient):
    """PyJWT's JWKS client (its cache and kid-miss refresh), keeping the keys last
    fetched through a failed fetch."""

    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            cache_jwk_set=True,
            lifespan=JWKS_LIFESPAN_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=JWKS_COOLDOWN_SECONDS,
        )
        self.last_good: PyJWKSet | None = None
        self.failed_at: float | None = None
        self.down = False

    def fetch_data(self) -> Any:
        now = time.monotonic()
        if (
            self.last_good is None
            and self.failed_at is not None
            and now - self.failed_at < JWKS_RETRY_SECONDS
        ):
            raise KeysUnavailable(_UNAVAILABLE)  # not every request waits for a timeout
        try:
            jwk_set = _jwk_set(super().fetch_data())
        except (PyJWKClientError, PyJWKSetError, ValueError) as error:
            self.failed_at = now
            if not self.down:
                self.down = True
                logger.warning(
                    "OAuth: the issuer's keys could not be fetched from %s (%s)%s",
                    self.uri,
                    error,
                    "; the keys fetched before are used meanwhile" if self.last_good else "",
                )
            if self.jwk_set_cache is not None:
                # PyJWT cached what it fetched before it was checked: keep the last good
                # keys instead (tried again after a lifespan), or none.
                self.jwk_set_cache.put(self.last_good)
            if self.last_good is None:
                raise KeysUnavailable(_UNAVAILABLE) from None
            return self.last_good
        if self.down:
            self.down = False
            logger.warning("OAuth: the issuer's keys were fetched again from %s", self.uri)
        self.last_good = jwk_set
        return jwk_set

    def signing_key(self, kid: str) -> PyJWK | None:
        try:
            key = self.get_signing_key(kid)
        except PyJWKClientError:  # no key with that kid, even after a refresh
            return None
        return key if key.algorithm_name in ALGORITHMS else None


class _FileKeys:
    """A JWKS file, read once (again only while it could not be read)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.keys: dict[str, PyJWK] | None = None
        self.down = False

    def signing_key(self, kid: str) -> PyJWK | None:
        if self.keys is None:
            try:
                self.keys = _usable(_jwk_set(json.loads(Path(self.path).read_text())))
            except (OSError, ValueError) as error:
                if not self.down:
                    self.down = True
                    logger.warning("OAuth: the JWKS file %s cannot be used (%s)", self.path, error)
                raise KeysUnavailable(_UNAVAILABLE) from None
        return self.keys.get(kid)


class _NoKeys:
    """A JWKS URL PyJWT refuses (not http or https): every token is 503."""

    def signing_key(self, kid: str) -> PyJWK | None:
        raise KeysUnavailable(_UNAVAILABLE)


_UNAVAILABLE = "the issuer's signing keys (JWKS) cannot be read now; try again later"


# -- the state of this process ------------------------------------------------------------


@dataclass(frozen=True)
class _Verified:
    client: Client
    audiences: frozenset[str]
    expires: float  # the token's exp


@dataclass
class _State:
    config: tuple[str, str, str]
    keys: _UrlKeys | _FileKeys | _NoKeys
    tokens: dict[bytes, _Verified] = field(default_factory=dict)  # sha256(token) → client
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, digest: bytes, entry: _Verified) -> None:
        if entry.expires <= _clock():
            return  # inside the leeway: verified, not kept
        with self.lock:
            if len(self.tokens) >= CACHE_SIZE:
                now = _clock()
                for old in [d for d, e in self.tokens.items() if e.expires <= now]:
                    del self.tokens[old]
                # Still full: drop the oldest quarter at once (one scan per quarter).
                while len(self.tokens) >= CACHE_SIZE * 3 // 4 and len(self.tokens) >= 1:
                    del self.tokens[next(iter(self.tokens))]
            self.tokens[digest] = entry


_current: _State | None = None
_state_lock = threading.Lock()


def _state() -> _State:
    """The keys and verified tokens for the settings in force (new when they change)."""
    global _current
    config = (
        settings.REGISTRY_OAUTH_ISSUER,
        settings.REGISTRY_OAUTH_JWKS_URL,
        settings.REGISTRY_OAUTH_JWKS_FILE,
    )
    state = _current
    if state is not None and state.config == config:
        return state
    with _state_lock:
        if _current is None or _current.config != config:
            url, path = config[1], config[2]
            _current = _State(config, _url_keys(url) if url else _FileKeys(path))
        return _current


def _url_keys(url: str) -> _UrlKeys | _NoKeys:
    try:
        return _UrlKeys(url)
    except PyJWKClientError as error:  # not http(s): said once, then 503 like a lost file
        logger.warning("OAuth: REGISTRY_OAUTH_JWKS_URL cannot be used (%s)", error)
        return _NoKeys()
