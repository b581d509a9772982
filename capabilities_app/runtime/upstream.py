"""The one outbound HTTP client: shared per process, bounded, guarded, lean.

Every upstream call of the registry goes through :meth:`Client.send`. It owns:

- the connections (``connections``): HTTP/1.1 keep-alive, one idle connection per
  thread and origin, so no pool lock is shared between threads;
- the deadline of the whole exchange (``REGISTRY_UPSTREAM_TIMEOUT``): connecting,
  TLS, every write and every read of one exchange waits at most for the time left
  until its deadline, so an upstream that trickles its header lines or its body in
  one byte at a time is cut off there (``REGISTRY_UPSTREAM_CONNECT_TIMEOUT`` bounds
  connecting alone); redirects are not followed; no cookie is ever kept;
- the size of every answer (``REGISTRY_MAX_UPSTREAM_BYTES``, ``bodies``): an
  announced ``Content-Length`` over it is refused before the body is read, and
  otherwise the body is counted as it arrives, by its decoded size (gzip and deflate
  are undone here, a bounded piece at a time, so a gzip bomb counts for what it
  expands to); past the cap the connection is dropped, never kept; a small body of
  known length and no coding is read in one go;
- the address guard (``guard``): the host is resolved at connection time and the
  connection goes to the checked address (TLS still verifies the host name), so a
  name cannot point at a non-public address unless that network is in
  ``REGISTRY_UPSTREAM_ALLOWED_NETWORKS``;
- the mapping from network and protocol failures to the registry's errors.

The short path writes the request as httpx 0.28's client wrote it (target, header
lines and their order, framing) and parses the answer with the standard library's
``http.client`` (``heads``: a plain header block is read without the ``email``
parser); httpx builds what it does not (form data, multipart files, digest
authentication, a URL with user information: :meth:`Client._send_built`) and parses
a URL not already in canonical form (``docs/outbound-client.md``).

Only this module imports httpx (and, with ``heads``, ``http.client``). It knows
nothing of models or documents.
"""

from __future__ import annotations

import base64
import functools
import http.client
import re
import threading
import time
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlencode

import httpx

from capabilities_app.core.errors import (
    UpstreamInvalid,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnreachable,
)
from capabilities_app.runtime.bodies import (
    PIECE,
    SMALL_BODY,
    Body,
    decoded,
    decoders,
    return_large_blocks,
)
from capabilities_app.runtime.connections import Connections, Origin
from capabilities_app.runtime.guard import AddressGuard, Network
from capabilities_app.runtime.heads import Answer, header_lines, raw_lines

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
# Kept for the unit tests of bounded decoding (``bodies`` holds them).
_PIECE, _decoded, _decoders = PIECE, decoded, decoders
# Content codings undone here (and the only ones asked for): zlib bounds its output.
_ACCEPT_ENCODING = "gzip, deflate"
# The headers every request carries unless it has its own, in httpx's order.
_DEFAULTS = (
    ("Accept", "*/*"),
    ("Connection", "keep-alive"),
    ("User-Agent", f"python-httpx/{httpx.__version__}"),
    ("Accept-Encoding", _ACCEPT_ENCODING),
)
_DEFAULT_NAMES = tuple(name.lower() for name, _ in _DEFAULTS)
# A header line as h11 (httpx's parser) accepts it: a token, then a value without
# NUL, CR, LF or leading and trailing white space.
_FIELD = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+: (?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_ORIGIN_AND_REST = re.compile(r"([a-z][a-z0-9+.-]*://[^/?#@]*)(.*)", re.S)
# What httpx keeps as it is in a path and in a query (anything else it percent-encodes).
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PATH_KEPT = _UNRESERVED + "".join(chr(i) for i in range(0x21, 0x7F) if chr(i) not in '"#<>?`{}')
_QUERY_KEPT = _UNRESERVED + "".join(chr(i) for i in range(0x21, 0x7F) if chr(i) not in '"#<>')
_MAX_URL = 65536


@dataclass(frozen=True)
class Settings:
    timeout: float = 30.0
    connect_timeout: float = 5.0
    allowed_networks: tuple[Network, ...] = ()
    max_connections: int = 100  # no longer a bound: one connection per thread and origin
    max_keepalive: int = 20  # idle connections one thread keeps (one per origin)
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass
class Response:
    """An upstream answer, read in full (within ``REGISTRY_MAX_UPSTREAM_BYTES``).

    ``headers`` maps lower-case names to values, repeated headers joined by ", ".
    """

    status: int
    headers: dict[str, str]
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


class _Basic(httpx.Auth):
    """Basic authentication: one header, written on the short path (as httpx writes it)."""

    def __init__(self, username: str, password: str) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.header = f"Basic {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header
        yield request


def basic_auth(username: str, password: str) -> httpx.Auth:
    return _Basic(username, password)


def digest_auth(username: str, password: str) -> httpx.Auth:
    return httpx.DigestAuth(username, password)


# --------------------------------------------------------------------------- the request


def _origin_of(url: httpx.URL) -> Origin:
    scheme = url.scheme
    if scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
    port = url.port or (443 if scheme == "https" else 80)
    return Origin(scheme, url.raw_host.decode("ascii"), port, url.netloc.decode("ascii"))


@functools.lru_cache(maxsize=512)
def _parsed_origin(prefix: str) -> Origin:
    return _origin_of(httpx.URL(prefix))


def _target(url: str, params: list[tuple[str, str]]) -> tuple[Origin, str]:
    """The origin and request target httpx would send for ``url`` and ``params``.

    A URL whose path and query httpx keeps as they are (the registry builds them
    percent-encoded) is split here, its origin parsed once; any other goes through
    httpx's parser.
    """
    found = _ORIGIN_AND_REST.fullmatch(url) if len(url) <= _MAX_URL else None
    if found is not None:
        rest = found.group(2)
        path, mark, query = rest.partition("?")
        plain = not path.rstrip(_PATH_KEPT) and not (mark and query.rstrip(_QUERY_KEPT))
        plain = plain and (not rest or rest[0] in "/?")
        if plain and "." in path:
            plain = not any(segment in (".", "..") for segment in path.split("/"))
        if plain:
            origin = _parsed_origin(found.group(1))
            if params:
                return origin, (path or "/") + "?" + _query(params)
            return origin, (path or "/") + (mark + query)
    parsed = httpx.URL(url)  # then params, as httpx's client does (its port normalised)
    parsed = httpx.URL(parsed, params=params) if params else parsed
    return _origin_of(parsed), parsed.raw_path.decode("ascii")


def _query(params: list[tuple[str, str]]) -> str:
    """``params`` as httpx encodes them: repeated names grouped at their first place."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    return urlencode([(name, value) for name, values in grouped.items() for value in values])


def _lines(
    method: str, origin: Origin, headers: list[tuple[str, str]], content: bytes | None, basic: str
) -> list[tuple[str, str]]:
    """The header lines httpx's client would write, in its order."""
    names = {name.lower() for name, _ in headers}
    lines = [] if "host" in names else [("Host", origin.netloc)]
    framed = "content-length" in names or "transfer-encoding" in names
    if not content and not framed and method in ("POST", "PUT", "PATCH"):
        lines.append(("Content-Length", "0"))
    for default, lowered in zip(_DEFAULTS, _DEFAULT_NAMES, strict=True):
        if lowered not in names:
            lines.append(default)
    lines += headers
    if content and "content-length" not in names:
        lines.append(("Content-Length", str(len(content))))
    if basic:
        lines = [line for line in lines if line[0].lower() != "authorization"]
        lines.append(("Authorization", basic))
    return lines


def _head(method: str, target: str, lines: list[tuple[str, str]]) -> bytes:
    """The request line and headers, checked as h11 checks them."""
    out = [f"{method} {target} HTTP/1.1\r\n"]
    for name, value in lines:
        line = f"{name}: {value}"
        if not _FIELD.fullmatch(line):
            what = "name" if not _FIELD.fullmatch(f"{name}: x") else "value of"
            raise httpx.LocalProtocolError(f"Illegal header {what} {name!r}")
        out.append(line + "\r\n")
    out.append("\r\n")
    return "".join(out).encode("ascii")


# --------------------------------------------------------------------------- the client


class _Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    lines: list[tuple[str, str]]  # as http.client decoded them (Latin-1: the bytes as sent)
    content: bytes


class Client:
    """The registry's outbound client (one per process; see :func:`get_client`)."""

    def __init__(self, settings: Settings) -> None:
        return_large_blocks()
        self.settings = settings
        self.guard = AddressGuard(settings.allowed_networks)
        # httpx's context (certifi's roots, the host name checked).
        self._connections = Connections(
            self.guard,
            httpx.create_ssl_context(trust_env=False),
            settings.connect_timeout,
            settings.max_keepalive,
        )

    def close(self) -> None:
        self._connections.close()

    def send(self, request: Request) -> Response:
        """Send ``request``; the whole exchange is bounded in time and in size."""
        start = time.monotonic()
        deadline = start + self.settings.timeout
        origin = request.url
        try:
            auth = request.auth
            short = request.files is None and request.data is None and "@" not in origin
            if short and (auth is None or isinstance(auth, _Basic)):
                method = request.method.upper()
                found, target = _target(origin, request.params)
                basic = auth.header if isinstance(auth, _Basic) else ""
                lines = _lines(method, found, request.headers, request.content, basic)
                answer = self._exchange(
                    found, method, _head(method, target, lines), request.content, deadline
                )
            else:
                answer = self._send_built(request, deadline)
        except httpx.InvalidURL as exc:  # the URL has no origin
            raise UpstreamUnreachable(f"the upstream URL is not valid: {_reason(exc)}") from exc
        except TimeoutError as exc:
            raise UpstreamTimeout(self._timeout_detail(request)) from exc
        except (http.client.HTTPException, OSError) as exc:
            raise UpstreamInvalid(
                f"the upstream {_origin(origin)} broke the exchange: {_reason(exc)}"
            ) from exc
        except zlib.error as exc:
            raise UpstreamInvalid(
                f"the upstream {_origin(origin)} sent a body that does not decode: {exc}"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamUnreachable(f"upstream {_origin(origin)} failed: {_reason(exc)}") from exc
        return Response(answer.status, answer.headers, answer.content, time.monotonic() - start)

    def _send_built(self, request: Request, deadline: float) -> _Answer:
        """The long path: httpx builds the request (form data, files, digest, user info)."""
        defaults = [
            d
            for d, n in zip(_DEFAULTS, _DEFAULT_NAMES, strict=True)
            if n not in {k.lower() for k, _ in request.headers}
        ]
        built = httpx.Request(
            request.method,
            httpx.URL(request.url),
            params=tuple(request.params) or None,
            headers=[*defaults, *request.headers],
            content=request.content,
            data=request.data,
            files=request.files,
        )
        auth = request.auth
        if auth is None and (built.url.username or built.url.password):
            auth = httpx.BasicAuth(built.url.username, built.url.password)
        origin = _origin_of(built.url)
        flow = (auth or httpx.Auth()).sync_auth_flow(built)
        outgoing = next(flow)
        while True:
            lines = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in outgoing.headers.raw]
            head = _head(outgoing.method, outgoing.url.raw_path.decode("ascii"), lines)
            answer = self._exchange(origin, outgoing.method, head, outgoing.read(), deadline)
            try:
                outgoing = flow.send(
                    httpx.Response(answer.status, headers=raw_lines(answer.lines), request=outgoing)
                )
            except StopIteration:
                return answer

    # ----------------------------------------------------------------------- one exchange

    def _exchange(
        self, origin: Origin, method: str, head: bytes, body: bytes | None, deadline: float
    ) -> _Answer:
        sock = self._connections.take(origin, deadline)
        keep = False
        try:
            try:
                if body and len(body) <= PIECE:
                    sock.sendall(head + body)
                else:
                    sock.sendall(head)
                    if body:
                        sock.sendall(body)
            except TimeoutError:
                raise
            except OSError:
                pass  # the upstream may have answered (and closed) already: read that (as httpx)
            response = Answer(sock, method=method)
            try:
                response.begin()
                lines, headers = header_lines(response)
                content = self._read(response, method, headers, origin)
                complete = response.fp is None or response.length == 0
                keep = complete and not response.will_close
            finally:
                response.close()
            return _Answer(response.status, headers, lines, content)
        finally:
            if keep:
                self._connections.give_back(origin, sock)
            else:
                sock.close()

    def _read(
        self,
        response: http.client.HTTPResponse,
        method: str,
        headers: dict[str, str],
        origin: Origin,
    ) -> bytes:
        """The decoded body, refused past the byte cap (announced or counted)."""
        limit = self.settings.max_bytes
        declared = headers.get("content-length", "")
        # A HEAD or 304 answer's length describes a body it does not carry.
        bodiless = method == "HEAD" or response.status in (204, 304)
        if not bodiless and declared.isdigit() and int(declared) > limit:
            raise self._too_large(origin, f"announces {int(declared):,} bytes")
        layers = decoders(headers)
        if not layers and response.length is not None and response.length <= min(limit, SMALL_BODY):
            return response.read()  # known and small: one read, no pieces
        raw_size = 0

        def raw() -> Iterator[bytes]:
            nonlocal raw_size
            while chunk := response.read1(PIECE):
                raw_size += len(chunk)
                if raw_size > limit:  # never read more than the cap off the wire
                    raise self._too_large(origin, "is longer")
                yield chunk
            if response.length:  # the upstream closed before the length it announced
                raise http.client.IncompleteRead(b"", response.length)

        body = Body(limit)
        try:
            for piece in decoded(raw(), layers):
                if not body.add(piece):
                    raise self._too_large(origin, "is longer")
            return body.content()
        finally:
            body.close()

    def _too_large(self, origin: Origin, how: str) -> UpstreamTooLarge:
        return UpstreamTooLarge(
            f"the answer of the upstream {origin} {how} than the limit of "
            f"{self.settings.max_bytes:,} bytes (REGISTRY_MAX_UPSTREAM_BYTES)"
        )

    def _timeout_detail(self, request: Request) -> str:
        return (
            f"the upstream {_origin(request.url)} did not answer within "
            f"{self.settings.timeout:g} s (REGISTRY_UPSTREAM_TIMEOUT)"
        )


def _origin(url: str | Origin) -> str:
    if isinstance(url, Origin):
        return str(url)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    return f"{parsed.scheme}://{parsed.netloc.decode()}"


def _reason(exc: BaseException) -> str:
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
