"""The one outbound HTTP client: shared per process, bounded, guarded.

Every upstream call of the registry goes through :func:`send`. It owns:

- one ``httpx.Client`` per process (connection pooling; created on first use, so a
  forked worker builds its own);
- explicit timeouts (``REGISTRY_UPSTREAM_TIMEOUT`` for the whole exchange,
  ``REGISTRY_UPSTREAM_CONNECT_TIMEOUT`` to connect); redirects are not followed;
- the address guard: the host is resolved at connection time and the connection goes
  to the checked address, so a name cannot point at a loopback, private, link-local
  or otherwise non-public address (DNS rebinding included), unless that network is in
  ``REGISTRY_UPSTREAM_ALLOWED_NETWORKS``;
- the mapping from httpx's exceptions to the registry's errors.

Only this module imports httpx. It knows nothing of models or documents.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpcore
import httpx

from .exceptions import RegistryError


class UpstreamUnreachable(RegistryError):
    code = "upstream_unreachable"
    status = 502
    title = "Upstream unreachable"


class UpstreamInvalid(RegistryError):
    code = "upstream_invalid"
    status = 502
    title = "Invalid answer from the upstream"


class UpstreamTimeout(RegistryError):
    code = "upstream_timeout"
    status = 504
    title = "Upstream timeout"


class UpstreamForbidden(RegistryError):
    code = "upstream_forbidden"
    status = 403
    title = "Upstream address not allowed"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    timeout: float = 30.0
    connect_timeout: float = 5.0
    allowed_networks: tuple[Network, ...] = ()
    max_connections: int = 100
    max_keepalive: int = 20


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass
class AddressGuard:
    """Resolves a host and returns an address the registry may connect to."""

    allowed_networks: tuple[Network, ...] = ()

    def allows(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)

    def resolve(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise UpstreamUnreachable(f"cannot resolve upstream host {host!r}") from exc
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if self.allows(address):
                return str(address)
        raise UpstreamForbidden(
            f"upstream host {host!r} resolves to a non-public address "
            f"({infos[0][4][0]}); allow its network in REGISTRY_UPSTREAM_ALLOWED_NETWORKS"
        )


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses the guard allows."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = self.guard.resolve(host, port)
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, guard: AddressGuard, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # Same pool httpx builds, with the guarded backend (TLS still verifies the host name).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )


@dataclass
class Response:
    """An upstream answer, read in full."""

    status: int
    headers: httpx.Headers
    content: bytes
    elapsed: float = 0.0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class Request:
    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    content: bytes | None = None
    files: list[tuple[str, tuple]] | None = None
    data: dict[str, str] | None = None
    auth: httpx.Auth | None = None


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie, request) -> bool:
        return False


class Client:
    """The registry's outbound client (one per process; see :func:`get_client`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        limits = httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive,
        )
        self.guard = AddressGuard(settings.allowed_networks)
        self._client = httpx.Client(
            transport=_GuardedTransport(self.guard, limits),
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            follow_redirects=False,
            trust_env=False,
            # The client is shared by every caller: an upstream's Set-Cookie must never
            # ride along on someone else's request.
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
        )

    def close(self) -> None:
        self._client.close()

    def send(self, request: Request) -> Response:
        """Send ``request``; the whole exchange is bounded by the timeout setting."""
        start = time.monotonic()
        deadline = start + self.settings.timeout
        try:
            built = self._client.build_request(
                request.method,
                request.url,
                params=request.params or None,
                headers=request.headers,
                content=request.content,
                data=request.data,
                files=request.files,
            )
            response = self._client.send(built, auth=request.auth, stream=True)
            try:
                chunks = []
                # Decoded bytes (gzip and friends undone): callers see the body itself.
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise UpstreamTimeout(self._timeout_detail(request))
                content = b"".join(chunks)
            finally:
                response.close()
        except httpx.InvalidURL as exc:  # not an httpx.HTTPError; the URL has no origin
            raise UpstreamUnreachable(f"the upstream URL is not valid: {_reason(exc)}") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(self._timeout_detail(request)) from exc
        except httpx.ConnectError as exc:
            raise UpstreamUnreachable(
                f"cannot connect to the upstream {_origin(request.url)}: {_reason(exc)}"
            ) from exc
        except (httpx.RemoteProtocolError, httpx.DecodingError, httpx.ReadError) as exc:
            raise UpstreamInvalid(
                f"the upstream {_origin(request.url)} broke the exchange: {_reason(exc)}"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(
                f"upstream {_origin(request.url)} failed: {_reason(exc)}"
            ) from exc
        return Response(response.status_code, response.headers, content, time.monotonic() - start)

    def _timeout_detail(self, request: Request) -> str:
        return (
            f"the upstream {_origin(request.url)} did not answer within "
            f"{self.settings.timeout:g} s (REGISTRY_UPSTREAM_TIMEOUT)"
        )


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


_client: Client | None = None
_client_lock = threading.Lock()


def configure(settings: Settings) -> None:
    """Replace the process's client (tests and settings changes)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = Client(settings)


def reset() -> None:
    """Drop the process's client; the next call builds one from the current settings."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None


def get_client(settings_factory) -> Client:
    """The process's client, created from ``settings_factory()`` on first use."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = Client(settings_factory())
            client = _client
    return client


def basic_auth(username: str, password: str) -> httpx.Auth:
    return httpx.BasicAuth(username, password)


def digest_auth(username: str, password: str) -> httpx.Auth:
    return httpx.DigestAuth(username, password)
