"""An upstream on 127.0.0.1 that records every header line as sent, repeats included.

``RecordingUpstream`` keys headers by name, so a header sent twice shows once; the
trust-boundary tests (issue 9 point 13) need to count ``Authorization`` lines.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class RawRequest:
    method: str
    target: str
    header_lines: list[tuple[str, str]]

    def all(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in the order sent."""
        return [value for key, value in self.header_lines if key.lower() == name.lower()]


class RawHeadersUpstream:
    """Answers 200 ``{"ok": true}`` to everything and keeps each request's header lines."""

    def __init__(self) -> None:
        self.received: list[RawRequest] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                with owner.lock:
                    owner.received.append(
                        RawRequest(self.command, self.path, list(self.headers.items()))
                    )
                payload = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RawHeadersUpstream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
