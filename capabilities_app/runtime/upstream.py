"""The one outbound HTTP client: shared per process, bounded, guarded.

Every upstream call of the registry goes through :func:`send`. It owns:

- one ``httpx.Client`` per process (connection pooling; created on first use, so a
  forked worker builds its own);
- the deadline of the whole exchange (``REGISTRY_UPSTREAM_TIMEOUT``): connecting,
  TLS, every write and every read of one exchange waits at most for the time left
  until its deadline, so an upstream that trickles its header lines or its body in
  one byte at a time is cut off there (``REGISTRY_UPSTREAM_CONNECT_TIMEOUT`` bounds
  connecting alone); redirects are not followed;
- the size of every answer (``REGISTRY_MAX_UPSTREAM_BYTES``), whatever is done with
  it next: an announced ``Content-Length`` over it is refused before the body is
  read, and otherwise the body is counted as it arrives, by its decoded size (gzip
  and deflate are undone here, a bounded piece at a time, so a gzip bomb counts for
  what it expands to); past the cap the connection is dropped, never pooled;
- the address guard (``guard``): the host is resolved at connection time and the
  connection goes to the checked address, so a name cannot point at a non-public
  address unless that network is in ``REGISTRY_UPSTREAM_ALLOWED_NETWORKS``;
- the mapping from httpx's exceptions to the registry's errors.

Only this module imports httpx. It knows nothing of models or documents.
"""

from __future__ import annotations

import ctypes
import http.cookiejar
import mmap
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import httpcore
import httpx

from capabilities_app.core.errors import (
    UpstreamInvalid,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnreachable,
)
from capabilities_app.runtime.guard import AddressGuard, Network

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Client",
    "Request",
    "Response",
    "Settings",
    "basic_auth",
    "configure",
    "digest_auth",
    "get_client",
    "reset",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# How much one read of the socket, or one step of a decompressor, may produce; a
# write is cut into pieces of this size too, so each waits only for the time left.
_PIECE = 64 * 1024
# Content codings undone here (and the only ones asked for): zlib bounds its output.
_ACCEPT_ENCODING = "gzip, deflate"
# Bodies up to this size are kept as a list of pieces; larger ones in a buffer of their own.
_SMALL_BODY = 1024 * 1024
# glibc's mallopt parameter and the value it is pinned to (its own default).
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 128 * 1024


@dataclass(frozen=True)
class Settings:
    timeout: float = 30.0
    connect_timeout: float = 5.0
    allowed_networks: tuple[Network, ...] = ()
    max_connections: int = 100
    max_keepalive: int = 20
    max_bytes: int = DEFAULT_MAX_BYTES


# --------------------------------------------------------------------------- the deadline

# The deadline (time.monotonic()) of the exchange the current thread runs. The sync
# client runs an exchange in the calling thread (REST workers, MCP worker threads,
# Celery tasks), so the network stream reads it from there.
_exchange = threading.local()


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout``, or the time left until the exchange's deadline if that is shorter."""
    deadline = getattr(_exchange, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the exchange's deadline has passed")
    return left if timeout is None or timeout > left else timeout


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the exchange's deadline.

    httpcore's timeouts are per operation: an upstream that sends a header line a
    second never lets one read wait long, and would hold the call for ever.
    """

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        while view:
            piece, view = view[:_PIECE], view[_PIECE:]
            self._stream.write(piece, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(
                ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend: only to addresses the guard allows, within the deadline."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = self.guard.resolve(host, port)
        stream = super().connect_tcp(
            address,
            port,
            _bounded(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream)


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


# --------------------------------------------------------------------------- bounded bodies


class _Inflate:
    """One gzip or deflate layer, producing at most ``_PIECE`` bytes per step."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._first = True
        wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._zlib.decompress(data, _PIECE)
        except zlib.error:
            if not (self._first and self.coding == "deflate"):
                raise
            # Some servers send raw deflate without the zlib header (as httpx allows).
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, _PIECE)
        self._first = False
        yield out
        while self._zlib.unconsumed_tail:
            yield self._zlib.decompress(self._zlib.unconsumed_tail, _PIECE)

    def finish(self) -> Iterator[bytes]:
        yield self._zlib.flush()


def _decoders(headers: httpx.Headers) -> list[_Inflate]:
    """The layers to undo, outermost first; unknown codings are left as they are (as httpx)."""
    codings = [c.strip().lower() for c in headers.get_list("content-encoding", split_commas=True)]
    return [_Inflate(c) for c in reversed(codings) if c in ("gzip", "deflate")]


def _decoded(raw: Iterator[bytes], layers: list[_Inflate]) -> Iterator[bytes]:
    """``raw`` with every layer undone, piece by bounded piece."""
    pieces: Iterable[bytes] = raw
    for layer in layers:
        pieces = _through(pieces, layer)
    return iter(pieces)


def _through(pieces: Iterable[bytes], layer: _Inflate) -> Iterator[bytes]:
    for piece in pieces:
        yield from layer.feed(piece)
    yield from layer.finish()


class _Body:
    """A body as it arrives, up to ``limit`` bytes.

    Small bodies are a list of pieces. Past :data:`_SMALL_BODY` the body moves to
    anonymous memory of its own (``mmap``: pages exist once written, and go back to
    the system when closed), so that reading a large body (and refusing it) leaves
    no megabytes behind in the allocator's per-thread arenas.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._pieces: list[bytes] = []
        self._map: mmap.mmap | None = None

    def add(self, piece: bytes) -> bool:
        """Append ``piece``; False when that would pass the limit."""
        if self.size + len(piece) > self.limit:
            return False
        self.size += len(piece)
        if self._map is not None:
            self._map.write(piece)
        elif self.size > _SMALL_BODY:
            self._map = mmap.mmap(-1, self.limit)
            for earlier in self._pieces:
                self._map.write(earlier)
            self._map.write(piece)
            self._pieces = []
        else:
            self._pieces.append(piece)
        return True

    def content(self) -> bytes:
        if self._map is not None:
            return self._map[: self.size]
        return b"".join(self._pieces)

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        self._pieces = []


# --------------------------------------------------------------------------- the client


@dataclass
class Response:
    """An upstream answer, read in full (within ``REGISTRY_MAX_UPSTREAM_BYTES``)."""

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


def _return_large_blocks_to_the_system() -> None:
    """Have glibc give every freed block of 128 KiB or more back to the system.

    glibc's malloc serves large blocks with their own memory map, but after the
    first one is freed it raises that threshold to the freed size (up to 32 MiB), so
    later bodies of a few megabytes come from the per-thread arenas, which keep up
    to twice that each once freed: a worker that read a few 9 MB answers in four
    threads stayed some 40 MB larger for good. Setting the threshold explicitly
    (mallopt(3): M_MMAP_THRESHOLD) turns that adjustment off, so a body's memory
    goes back when the body does. Elsewhere (musl, macOS) there is nothing to set.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


class Client:
    """The registry's outbound client (one per process; see :func:`get_client`)."""

    def __init__(self, settings: Settings) -> None:
        _return_large_blocks_to_the_system()
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
            headers={"Accept-Encoding": _ACCEPT_ENCODING},
            # The client is shared by every caller: an upstream's Set-Cookie must never
            # ride along on someone else's request.
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
        )

    def close(self) -> None:
        self._client.close()

    def send(self, request: Request) -> Response:
        """Send ``request``; the whole exchange is bounded in time and in size."""
        start = time.monotonic()
        _exchange.deadline = start + self.settings.timeout
        try:
            built = self._client.build_request(
                request.method,
                request.url,
                params=tuple(request.params) or None,
                headers=request.headers,
                content=request.content,
                data=request.data,
                files=request.files,
            )
            response = self._client.send(built, auth=request.auth, stream=True)
            try:
                content = self._read(response, request)
            finally:
                # Closing a body not read to its end drops the connection (never pooled).
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
        except zlib.error as exc:
            raise UpstreamInvalid(
                f"the upstream {_origin(request.url)} sent a body that does not decode: {exc}"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(
                f"upstream {_origin(request.url)} failed: {_reason(exc)}"
            ) from exc
        finally:
            _exchange.deadline = None
        return Response(response.status_code, response.headers, content, time.monotonic() - start)

    def _read(self, response: httpx.Response, request: Request) -> bytes:
        """The decoded body, refused past the byte cap (announced or counted)."""
        limit = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        # A HEAD or 304 answer's length describes a body it does not carry.
        bodiless = request.method.upper() == "HEAD" or response.status_code in (204, 304)
        if not bodiless and declared.isdigit() and int(declared) > limit:
            raise self._too_large(request, f"announces {int(declared):,} bytes")
        raw_size = 0

        def raw() -> Iterator[bytes]:
            nonlocal raw_size
            for chunk in response.iter_raw():
                raw_size += len(chunk)
                if raw_size > limit:  # never read more than the cap off the wire
                    raise self._too_large(request, "is longer")
                yield chunk

        body = _Body(limit)
        try:
            for piece in _decoded(raw(), _decoders(response.headers)):
                if not body.add(piece):
                    raise self._too_large(request, "is longer")
            return body.content()
        finally:
            body.close()

    def _too_large(self, request: Request, how: str) -> UpstreamTooLarge:
        return UpstreamTooLarge(
            f"the answer of the upstream {_origin(request.url)} {how} than the limit of "
            f"{self.settings.max_bytes:,} bytes (REGISTRY_MAX_UPSTREAM_BYTES)"
        )

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
