"""An upstream that misbehaves on purpose: a raw-socket HTTP/1.1 server on 127.0.0.1.

The recording upstream (``tests.support.upstream``) builds each answer in memory and
writes it with ``http.server``; the answers here cannot be built that way: hundreds of
megabytes streamed without being held, header lines that trickle in one per second, a
body that trickles, gzip bombs, and documents designed to blow up a decoder. Each
answer is a *behaviour*: a function that writes to the socket as it likes.

Every exchange is recorded (:class:`Exchange`): what was asked, how many body bytes
were written, whether the whole answer went out, and whether the registry dropped the
connection while it was still writing (``aborted``).

Every answer carries ``Connection: close`` and the connection is closed after it, so
an exchange is one connection.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

MB = 1024 * 1024
_BLOCK = 64 * 1024


@dataclass
class Exchange:
    """One request and what the server managed to answer."""

    method: str = ""
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body_bytes_sent: int = 0
    complete: bool = False  # the whole answer was written
    aborted: bool = False  # writing failed: the registry dropped the connection


class PeerGone(Exception):
    """The other side closed the connection while the server was writing."""


class Connection:
    """One accepted connection, as a behaviour sees it."""

    def __init__(self, sock: socket.socket, exchange: Exchange, stopping: threading.Event):
        self.sock = sock
        self.exchange = exchange
        self.stopping = stopping

    def send(self, data: bytes, *, body: bool = True) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:  # BrokenPipe, ConnectionReset, timeout
            self.exchange.aborted = True
            raise PeerGone from exc
        if body:
            self.exchange.body_bytes_sent += len(data)

    def head(self, status: int, headers: list[tuple[str, str]]) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines.append("Connection: close")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), body=False)

    def pause(self, seconds: float) -> None:
        """Sleep, unless the server is stopping (then give up on the answer)."""
        if self.stopping.wait(seconds):
            raise PeerGone


Behaviour = Callable[[Connection], None]
_REASONS = {200: "OK", 302: "Found", 404: "Not Found"}


# --------------------------------------------------------------------------- behaviours


def fixed(
    body: bytes | str,
    *,
    status: int = 200,
    content_type: str = "application/json",
    headers: list[tuple[str, str]] | None = None,
) -> Behaviour:
    """An ordinary answer (with Content-Length)."""
    payload = body.encode() if isinstance(body, str) else body

    def behave(conn: Connection) -> None:
        conn.head(
            status,
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(payload))),
                *(headers or []),
            ],
        )
        conn.send(payload)

    return behave


def stream(
    total: int,
    *,
    content_type: str = "application/octet-stream",
    declare_length: bool = True,
    prefix: bytes = b"",
    filler: bytes = b"x",
    suffix: bytes = b"",
) -> Behaviour:
    """About ``total`` body bytes, generated block by block (never held whole).

    ``prefix`` + ``filler`` repeated + ``suffix``: exactly ``total`` bytes when the
    filler is one byte, else the whole fillers that fit. With ``declare_length=False``
    the body is chunked and no length is announced.
    """
    block = filler * max(1, _BLOCK // len(filler))
    middle = (total - len(prefix) - len(suffix)) // len(filler) * len(filler)
    total = len(prefix) + middle + len(suffix)

    def behave(conn: Connection) -> None:
        framing = (
            ("Content-Length", str(total)) if declare_length else ("Transfer-Encoding", "chunked")
        )
        conn.head(200, [("Content-Type", content_type), framing])
        pieces = _pieces(prefix, block, middle, suffix)
        for piece in pieces:
            if declare_length:
                conn.send(piece)
            else:
                conn.send(b"%x\r\n" % len(piece), body=False)
                conn.send(piece)
                conn.send(b"\r\n", body=False)
        if not declare_length:
            conn.send(b"0\r\n\r\n", body=False)

    return behave


def _pieces(prefix: bytes, block: bytes, middle: int, suffix: bytes):
    if prefix:
        yield prefix
    while middle > 0:
        piece = block[: min(middle, len(block))]
        middle -= len(piece)
        yield piece
    if suffix:
        yield suffix


def gzip_bomb(decoded: int, *, content_type: str = "application/json") -> Behaviour:
    """A gzip body of ``decoded`` zero bytes (about a thousandth of that on the wire)."""
    payload = _gzipped_zeros(decoded)

    def behave(conn: Connection) -> None:
        conn.head(
            200,
            [
                ("Content-Type", content_type),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(payload))),
            ],
        )
        for start in range(0, len(payload), _BLOCK):
            conn.send(payload[start : start + _BLOCK])

    return behave


@cache
def _gzipped_zeros(decoded: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MB)
    parts = []
    left = decoded
    while left > 0:
        parts.append(compressor.compress(zeros[: min(left, MB)]))
        left -= MB
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(body: bytes, *, content_type: str = "application/json") -> Behaviour:
    payload = gzip.compress(body)
    return fixed(payload, content_type=content_type, headers=[("Content-Encoding", "gzip")])


def trickle_headers(*, seconds: int = 60, then: bytes = b"{}") -> Behaviour:
    """A status line, then one header line per second for ``seconds``, then a small body."""

    def behave(conn: Connection) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", body=False)
        for n in range(seconds):
            conn.pause(1)
            conn.send(f"X-Drip-{n}: {n}\r\n".encode(), body=False)
        conn.send(f"Content-Length: {len(then)}\r\nConnection: close\r\n\r\n".encode(), body=False)
        conn.send(then)

    return behave


def trickle_body(*, seconds: int = 60) -> Behaviour:
    """Headers at once, then one body byte per second for ``seconds``."""

    def behave(conn: Connection) -> None:
        conn.head(200, [("Content-Type", "text/plain"), ("Content-Length", str(seconds))])
        for _ in range(seconds):
            conn.pause(1)
            conn.send(b"x")

    return behave


# --------------------------------------------------------------------------- documents


def yaml_alias_bomb() -> bytes:
    """Eight levels of nine aliases each: 450 bytes that expand to 9**8 strings (300 MB of JSON)."""
    lines = ['l1: &l1 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(2, 9):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


def deep_xml(depth: int) -> bytes:
    return b"<a>" * depth + b"x" + b"</a>" * depth


def xml_entity_bomb() -> bytes:
    """The classic billion laughs."""
    entities = ['<!ENTITY lol "lol">']
    previous = "lol"
    for n in range(1, 10):
        name = f"lol{n}"
        entities.append(f'<!ENTITY {name} "' + f"&{previous};" * 10 + '">')
        previous = name
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n'
        + "\n".join(entities)
        + f"\n]>\n<lolz>&{previous};</lolz>\n"
    ).encode()


CSV_ROW = b"1,Ada Lovelace,ada@example.org,analytical engine,1843\n"
CSV_HEADER = b"id,name,email,machine,year\n"


# --------------------------------------------------------------------------- server


class HostileUpstream:
    """Serves one behaviour per path (``route``); records every exchange."""

    def __init__(self) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.exchanges: list[Exchange] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.listener.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def route(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def start(self) -> HostileUpstream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()

    def exchanges_for(self, path: str) -> list[Exchange]:
        with self.lock:
            return [e for e in self.exchanges if e.path == path]

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        exchange = Exchange()
        with self.lock:
            self.exchanges.append(exchange)
        sock.settimeout(30)
        try:
            if not self._read_request(sock, exchange):
                return
            behaviour = self.routes.get(exchange.path.split("?", 1)[0])
            conn = Connection(sock, exchange, self.stopping)
            try:
                if behaviour is None:
                    fixed(b'{"error": "no such route"}', status=404)(conn)
                else:
                    behaviour(conn)
                exchange.complete = True
            except PeerGone:
                pass
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @staticmethod
    def _read_request(sock: socket.socket, exchange: Exchange) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return False
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        exchange.method, exchange.path, _ = [*lines[0].split(" ", 2), "", ""][:3]
        for line in lines[1:]:
            name, _, value = line.partition(":")
            exchange.headers[name.strip().lower()] = value.strip()
        length = int(exchange.headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return True
