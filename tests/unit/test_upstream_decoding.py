"""The client undoes gzip and deflate a bounded piece at a time (issue 9 point 2).

httpx's own decoders hand over everything one compressed chunk expands to (64 kB of
gzip can be 64 MB); the client's are bounded, so the byte cap counts a gzip bomb by
its decoded size without ever holding more than a piece of it.
"""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from capabilities_app.runtime.upstream import _PIECE, _decoded, _decoders

TEXT = b"the quick brown fox jumps over the lazy dog\n" * 5000


def chunks(data: bytes, size: int = 4096):
    return (data[i : i + size] for i in range(0, len(data), size))


def decode(data: bytes, encoding: str) -> bytes:
    layers = _decoders(httpx.Headers({"content-encoding": encoding}))
    return b"".join(_decoded(chunks(data), layers))


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)[2:-4]),  # raw deflate, as some servers send it
        ("gzip, gzip", gzip.compress(gzip.compress(TEXT))),
        ("identity", TEXT),
        ("br", TEXT),  # not asked for, not undone: kept as it came (as httpx does)
    ],
)
def test_encodings_are_undone_as_httpx_would(encoding, encoded):
    """Issue 9 point 2: bounded decoding gives what httpx's decoders give."""
    assert decode(encoded, encoding) == TEXT


def test_a_gzip_bomb_comes_out_in_bounded_pieces():
    """Issue 9 point 2: 64 MB of zeros in 64 kB of gzip never comes out in one piece."""
    bomb = gzip.compress(bytes(64 * 1024 * 1024))
    layers = _decoders(httpx.Headers({"content-encoding": "gzip"}))
    total = 0
    for piece in _decoded(chunks(bomb, 65536), layers):
        assert len(piece) <= _PIECE
        total += len(piece)
    assert total == 64 * 1024 * 1024


def test_a_body_that_does_not_decode_raises_zlib_error():
    with pytest.raises(zlib.error):
        decode(b"not gzip at all", "gzip")
