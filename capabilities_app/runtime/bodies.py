"""Bounded answer bodies: decoding a piece at a time, and where a large body is kept.

``upstream`` reads every answer through these: gzip and deflate are undone a bounded
piece at a time (so a gzip bomb counts for what it expands to, without ever holding
more than a piece of it), and a body past :data:`SMALL_BODY` moves to anonymous memory
of its own (:class:`Body`), so reading a large body (and refusing it) leaves nothing
behind in the allocator's per-thread arenas.

Pure Python (``zlib``, ``mmap``, ``ctypes``): must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import ctypes
import mmap
import zlib
from collections.abc import Iterable, Iterator, Mapping

__all__ = ["PIECE", "SMALL_BODY", "Body", "Inflate", "decoded", "decoders", "return_large_blocks"]

# How much one read of the socket, or one step of a decompressor, may produce; a
# write is cut into pieces of this size too, so each waits only for the time left.
PIECE = 64 * 1024
# Bodies up to this size are kept as a list of pieces; larger ones in a buffer of their own.
SMALL_BODY = 1024 * 1024
# glibc's mallopt parameter and the value it is pinned to (its own default).
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 128 * 1024


class Inflate:
    """One gzip or deflate layer, producing at most ``PIECE`` bytes per step."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._first = True
        wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._zlib.decompress(data, PIECE)
        except zlib.error:
            if not (self._first and self.coding == "deflate"):
                raise
            # Some servers send raw deflate without the zlib header (as httpx allows).
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, PIECE)
        self._first = False
        yield out
        while self._zlib.unconsumed_tail:
            yield self._zlib.decompress(self._zlib.unconsumed_tail, PIECE)

    def finish(self) -> Iterator[bytes]:
        yield self._zlib.flush()


def decoders(headers: Mapping[str, str]) -> list[Inflate]:
    """The layers to undo, outermost first; unknown codings are left as they are (as httpx).

    ``headers`` maps lower-case names to values (repeated headers joined by ", ").
    """
    value = headers.get("content-encoding")
    if not value:
        return []
    codings = [c.strip().lower() for c in value.split(",")]
    return [Inflate(c) for c in reversed(codings) if c in ("gzip", "deflate")]


def decoded(raw: Iterator[bytes], layers: list[Inflate]) -> Iterator[bytes]:
    """``raw`` with every layer undone, piece by bounded piece."""
    pieces: Iterable[bytes] = raw
    for layer in layers:
        pieces = _through(pieces, layer)
    return iter(pieces)


def _through(pieces: Iterable[bytes], layer: Inflate) -> Iterator[bytes]:
    for piece in pieces:
        yield from layer.feed(piece)
    yield from layer.finish()


class Body:
    """A body as it arrives, up to ``limit`` bytes.

    Small bodies are a list of pieces. Past :data:`SMALL_BODY` the body moves to
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
        elif self.size > SMALL_BODY:
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


def return_large_blocks() -> None:
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
