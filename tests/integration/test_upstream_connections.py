"""The outbound client's connections (issue 12 point 2), against a real socket server.

One keep-alive connection per thread and origin, reused only when the answer was read
to its end and the upstream did not close it; an answer whose framing breaks HTTP is
502 ``upstream_invalid`` and its connection is dropped.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest

from capabilities_app.core.errors import UpstreamInvalid, UpstreamTooLarge
from capabilities_app.runtime import upstream
from capabilities_app.runtime.guard import parse_networks

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class SocketUpstream:
    """Answers each request with ``answer(n)`` (n counts the requests it answered);
    closes the connection after it when ``close_after`` says so."""

    def __init__(self, answer: Callable[[int], bytes], close_after: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.answered = 0  # requests answered, over every connection
        self.closed = threading.Semaphore(0)  # released each time it closes a connection
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        try:
            self._converse(conn)
        finally:
            conn.close()
            self.closed.release()

    def _converse(self, conn: socket.socket) -> None:
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                data = conn.recv(65536)
                if not data:
                    return
                buffered += data
            buffered = buffered.split(b"\r\n\r\n", 1)[1]
            self.answered += 1
            try:
                conn.sendall(self.answer(self.answered))
            except OSError:
                return
            if self.close_after:
                return

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/x"

    def stop(self) -> None:
        self.server.close()


@pytest.fixture
def client():
    made = upstream.Client(
        upstream.Settings(allowed_networks=parse_networks(["127.0.0.0/8"]), timeout=5)
    )
    yield made
    made.close()


def serve(answer: Callable[[int], bytes] = lambda n: OK, **options) -> SocketUpstream:
    return SocketUpstream(answer, **options)


def test_one_thread_keeps_one_connection(client):
    server = serve()
    try:
        for _ in range(3):
            assert client.send(upstream.Request("GET", server.url)).content == b"ok"
    finally:
        server.stop()
    assert server.connections == 1


def test_a_connection_the_upstream_closed_is_replaced(client):
    server = serve(close_after=True)
    try:
        for _ in range(3):
            response = client.send(upstream.Request("GET", server.url))
            assert (response.status, response.content) == (200, b"ok")
            server.closed.acquire()  # the upstream has closed it (an idle timeout, say)
    finally:
        server.stop()
    assert server.connections == 3


def test_threads_do_not_share_a_connection(client):
    server = serve()
    barrier = threading.Barrier(2)
    results: list[bytes] = []

    def call() -> None:
        barrier.wait()
        results.append(client.send(upstream.Request("GET", server.url)).content)

    try:
        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [b"ok", b"ok"]
        assert server.connections == 2
        client.send(upstream.Request("GET", server.url))  # this thread's own, new
        assert server.connections == 3
    finally:
        server.stop()


def test_an_answer_past_the_cap_drops_its_connection():
    big = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"20\r\n" + b"x" * 32
    server = serve(lambda n: big + b"\r\n0\r\n\r\n" if n == 1 else OK)
    capped = upstream.Client(
        upstream.Settings(allowed_networks=parse_networks(["127.0.0.0/8"]), max_bytes=10)
    )
    try:
        with pytest.raises(UpstreamTooLarge):
            capped.send(upstream.Request("GET", server.url))
        assert capped.send(upstream.Request("GET", server.url)).content == b"ok"
    finally:
        capped.close()
        server.stop()
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # then closed
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
        b"NOT HTTP\r\n\r\n",
    ],
)
def test_an_answer_that_breaks_http_is_upstream_invalid(client, answer):
    server = serve(lambda n: answer, close_after=True)
    try:
        with pytest.raises(UpstreamInvalid) as exc:
            client.send(upstream.Request("GET", server.url))
    finally:
        server.stop()
    assert exc.value.code == "upstream_invalid"
    assert "broke the exchange" in exc.value.detail
