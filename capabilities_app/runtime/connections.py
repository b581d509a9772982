"""The outbound client's connections: one per thread and origin, guarded, on a deadline.

``upstream`` takes a connection for an exchange and gives it back when the answer was
read to its end. A thread runs one exchange at a time (REST workers, MCP worker
threads, Celery tasks), so each thread keeps its own idle connections, one per
origin: no lock is shared between threads on the way. An idle connection older than
:data:`KEEPALIVE_EXPIRY`, or one with something to read (the upstream closed it, or
sent what was not asked for), is closed rather than used.

A new connection goes to the address the guard checked (``AddressGuard.resolve`` at
connection time); TLS still verifies the host name. Every read and every write of
its socket waits at most for the time left until the exchange's deadline
(:class:`Deadline`), so an upstream that trickles its answer is cut off there.

Pure Python (``socket``, ``ssl``): must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
import time
import weakref
from typing import Any, NamedTuple

from capabilities_app.core.errors import UpstreamUnreachable
from capabilities_app.runtime.bodies import PIECE
from capabilities_app.runtime.guard import AddressGuard

__all__ = ["KEEPALIVE_EXPIRY", "Connections", "Origin", "left"]

# An idle connection older than this is closed rather than used (httpx's default).
KEEPALIVE_EXPIRY = 5.0


def left(deadline: float) -> float:
    """The seconds left until ``deadline``; TimeoutError once it has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the exchange's deadline has passed")
    return remaining


class Deadline:
    """A socket whose every read and write ends by the exchange's ``deadline``.

    A socket timeout is per operation: an upstream that sends a header line a second
    never lets one read wait long, and would hold the call for ever.
    """

    deadline = 0.0

    def recv_into(self, buffer: Any, *args: Any) -> int:
        self.settimeout(left(self.deadline))  # type: ignore[attr-defined]
        return super().recv_into(buffer, *args)  # type: ignore[misc]

    def sendall(self, data: Any, *args: Any) -> None:
        view = memoryview(data)
        while view:
            piece, view = view[:PIECE], view[PIECE:]
            self.settimeout(left(self.deadline))  # type: ignore[attr-defined]
            super().sendall(piece, *args)  # type: ignore[misc]


class _Socket(Deadline, socket.socket):
    pass


class TLSSocket(Deadline, ssl.SSLSocket):
    """The class a TLS context of the client wraps sockets in (``sslsocket_class``)."""


class Origin(NamedTuple):
    scheme: str
    host: str  # as connected to and verified by TLS (IDNA-encoded, no brackets)
    port: int
    netloc: str  # the Host header

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def _readable(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Idle:
    """One thread's idle connections by origin, oldest first, and when each went idle."""

    __slots__ = ("__weakref__", "by_origin", "pid")

    def __init__(self) -> None:
        self.by_origin: dict[tuple[str, str, int], tuple[Any, float]] = {}
        self.pid = os.getpid()  # a forked child must not share its parent's connections

    def close(self) -> None:
        while self.by_origin:
            self.by_origin.popitem()[1][0].close()

    __del__ = close  # a thread that ended leaves no socket open


class Connections:
    """Every thread's idle connections, and how a new one is made."""

    def __init__(
        self, guard: AddressGuard, tls: ssl.SSLContext, connect_timeout: float, keep: int
    ) -> None:
        self.guard = guard
        self.tls = tls
        tls.sslsocket_class = TLSSocket
        tls.set_alpn_protocols(["http/1.1"])  # as httpcore offered it
        self.connect_timeout = connect_timeout
        self.keep = keep  # idle connections one thread keeps, one per origin
        self._local = threading.local()
        self._every: weakref.WeakSet[_Idle] = weakref.WeakSet()
        self._every_lock = threading.Lock()  # taken once per thread, and by close()

    def close(self) -> None:
        with self._every_lock:
            every = list(self._every)
        for idle in every:
            idle.close()

    def _idle(self) -> _Idle:
        idle = getattr(self._local, "idle", None)
        if idle is None or idle.pid != os.getpid():
            idle = self._local.idle = _Idle()
            with self._every_lock:
                self._every.add(idle)
        return idle

    def take(self, origin: Origin, deadline: float) -> Any:
        """A connected socket to ``origin``, idle or new, on ``deadline``."""
        found = self._idle().by_origin.pop(origin[:3], None)
        if found is not None:
            sock, since = found
            if time.monotonic() - since < KEEPALIVE_EXPIRY and not _readable(sock):
                sock.deadline = deadline
                return sock
            sock.close()
        sock = self._connect(origin, deadline)
        sock.deadline = deadline
        return sock

    def give_back(self, origin: Origin, sock: Any) -> None:
        """Keep ``sock`` (its answer read to the end) for this thread's next exchange."""
        idle = self._idle().by_origin
        now = time.monotonic()
        for key, (other, since) in list(idle.items()):
            if now - since >= KEEPALIVE_EXPIRY:  # idle too long: closed now, not on next use
                del idle[key]
                other.close()
        while idle and len(idle) >= self.keep:
            idle.pop(next(iter(idle)))[0].close()
        if self.keep > 0:
            idle[origin[:3]] = (sock, now)
        else:
            sock.close()

    def _connect(self, origin: Origin, deadline: float) -> Any:
        address = self.guard.resolve(origin.host, origin.port)
        sock: Any = None
        try:
            raw = socket.create_connection(
                (address, origin.port), min(self.connect_timeout, left(deadline))
            )
            sock = _Socket(raw.family, raw.type, raw.proto, raw.detach())
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.scheme == "https":
                sock.settimeout(min(self.connect_timeout, left(deadline)))
                sock = self.tls.wrap_socket(sock, server_hostname=origin.host)
        except OSError as exc:  # refused, unreachable, a certificate that does not verify
            if sock is not None:
                sock.close()
            if isinstance(exc, TimeoutError):
                raise
            raise UpstreamUnreachable(
                f"cannot connect to the upstream {origin}: {str(exc) or type(exc).__name__}"
            ) from exc
        return sock
