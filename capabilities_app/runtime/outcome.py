"""What an operation answered: the :class:`Outcome` every front door renders.

An upstream's answer passes as it came (status, bytes, content type, and the few
headers an answer keeps, :data:`PASSED_HEADERS`), or as data the runtime built (a
mapping, a mock, steps) to render as JSON.

Must not import Django, the MCP SDK or the surfaces; knows ``upstream.Response`` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capabilities_app.core import decoding
from capabilities_app.runtime import upstream

__all__ = ["JSON", "PASSED_HEADERS", "Outcome", "passed_headers"]

JSON = "application/json"


# Upstream response headers an answer keeps (docs/limits.md). Location and
# Retry-After tell the caller where to go and when to come back (a 3xx, a 201, a 429
# or 503), Content-Language describes the content whatever its shape. Nothing else:
# cookies, caching headers (a shared cache must not learn an answer is public when
# the expose is guarded) and the upstream's own headers stay upstream.
PASSED_HEADERS = ("location", "retry-after", "content-language")


def passed_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The :data:`PASSED_HEADERS` an upstream answer carries, as the upstream wrote them."""
    return tuple((name.title(), headers[name]) for name in PASSED_HEADERS if name in headers)


@dataclass
class Outcome:
    """What an operation answered: raw bytes as they came, or data to render as JSON."""

    status: int
    content_type: str = JSON
    content: bytes | None = None
    data: Any = None
    from_upstream: bool = False
    retry_after: str | None = None  # the upstream's Retry-After, on an error answer
    # Upstream headers passed to the caller (PASSED_HEADERS); a Location is not rewritten.
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def as_it_came(cls, response: upstream.Response) -> Outcome:
        """The upstream's answer, unmapped: status, body and content type as they came."""
        return cls(
            response.status,
            response.content_type,
            content=response.content,
            from_upstream=True,
            retry_after=response.headers.get("retry-after"),
            headers=passed_headers(response.headers),
        )

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    def json(self) -> Any:
        """The answer as data: raw JSON bytes are parsed within the decoding limits;
        other bytes, and JSON past those limits (nested too deep, too many values),
        are text, as they came."""
        if self.content is None:
            return self.data
        if not self.content:
            return None
        try:
            return decoding.load_json(self.content)
        except ValueError:  # decoding.Refused included
            return self.content.decode("utf-8", errors="replace")

    def body(self) -> bytes:
        if self.content is not None:
            return self.content
        return json.dumps(self.data, ensure_ascii=False).encode()
