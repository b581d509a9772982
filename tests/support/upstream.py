"""A real upstream HTTP server on 127.0.0.1 that records what it receives.

Tests start it with the ``upstream`` fixture, program answers per method and path,
and read back every request (method, path, query, headers, body) it got.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Received:
    method: str
    raw_path: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived
    # Every header line as sent, repeats included (``headers`` keeps one per name).
    header_lines: list[tuple[str, str]] = field(default_factory=list)
    # The request target as sent (path and query, still percent-encoded).
    target: str = ""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in the order sent."""
        return [value for key, value in self.header_lines if key.lower() == name.lower()]


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class RecordingUpstream:
    """Answers what tests program; by default echoes the request as JSON."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        # Routes that deduplicate by Idempotency-Key, and the side effects they applied.
        self.idempotent: set[tuple[str, str]] = set()
        self.effects: dict[str, Received] = {}
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                received = Received(
                    method=self.command,
                    raw_path=parts.path,
                    path=parts.path,
                    query=parse_qsl(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    header_lines=list(self.headers.items()),
                    target=self.path,
                )
                key = received.header("idempotency-key")
                with owner.lock:
                    owner.received.append(received)
                    if (self.command, parts.path) in owner.idempotent and key:
                        owner.effects.setdefault(key, received)  # applied once per key
                answer = owner.answer_for(self.command, parts.path, received)
                if answer.delay:
                    time.sleep(answer.delay)
                if isinstance(answer.body, bytes):
                    payload = answer.body
                elif isinstance(answer.body, str):
                    payload = answer.body.encode()
                else:
                    payload = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("content-type", answer.content_type)
                    self.send_header("content-length", str(len(payload)))
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RecordingUpstream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, method: str, path: str, *answers: Answer) -> None:
        """Program answers for ``method path`` (used in order; the last one repeats)."""
        self.answers[(method, path)] = list(answers)

    def answer_for(self, method: str, path: str, received: Received) -> Answer:
        with self.lock:
            queue = self.answers.get((method, path)) or self.answers.get(("*", path))
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return Answer(
            body={
                "method": received.method,
                "path": received.path,
                "query": received.query,
                "body": received.body.decode(errors="replace"),
            }
        )

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.answers.clear()
            self.idempotent.clear()
            self.effects.clear()

    def calls(self, method: str, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == method and r.path == path]

    def only(self) -> Received:
        assert len(self.received) == 1, [(r.method, r.path) for r in self.received]
        return self.received[0]
