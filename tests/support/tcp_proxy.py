"""A TCP proxy on 127.0.0.1 that a test can cut and restore, to take a service away.

Tests of the database going away put it in front of the machine's PostgreSQL and
point the registry's ``DATABASE_URL`` at it. :meth:`TcpProxy.cut` closes every open
connection (as a PostgreSQL restart or a failover does) and refuses new ones (each is
accepted and closed at once, so a client fails fast instead of waiting on a connect
timeout); :meth:`TcpProxy.restore` lets new connections through again. Bytes are
copied as they come, one thread per direction of each connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.is_cut = False
        self.refused = 0  # connections refused while cut
        self.accepted = 0  # connections let through
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self.thread.start()
        return self

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(database_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = (credentials + "@" if credentials else "") + f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def cut(self) -> None:
        """Close every open connection and refuse new ones until :meth:`restore`."""
        with self.lock:
            self.is_cut = True
            sockets = list(self.open)
            self.open.clear()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        with self.lock:
            self.is_cut = False

    def stop(self) -> None:
        self.stopped = True
        self.cut()
        _close(self.listener)
        self.thread.join(timeout=5)

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed
            with self.lock:
                refuse = self.is_cut
                if refuse:
                    self.refused += 1
            if refuse:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self.lock:
                if self.is_cut:  # cut while connecting
                    _close(client)
                    _close(server)
                    continue
                self.accepted += 1
                self.open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open.discard(source)
                self.open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    # shutdown first: it wakes a thread blocked in recv() on the same socket.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
