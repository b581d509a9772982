"""The head of an upstream answer: its status line and header lines (``upstream``'s reader).

:class:`Answer` is the standard library's ``http.client.HTTPResponse`` with one change:
a plain header block (every line ``token: printable ASCII``) is read straight into the
``HTTPMessage`` it would have built, without the ``email`` package's parser, which cost
about half of reading a small answer (~30 µs of ~60 µs; ``docs/outbound-client.md``).
Any other block (a folded line, a byte outside printable ASCII, a line that is not a
header) goes through the standard parser as before, so what an answer means never
depends on which way it was read; ``tests/unit/test_upstream_heads.py`` holds the two to
the same result.

:func:`header_lines` reads the parsed head as the client uses it and refuses the
framing h11 refuses. Imported by ``upstream`` only (with it, the only modules that
import ``http.client``).
"""

from __future__ import annotations

import contextlib
import email.parser
import http.client
import re
import types
from typing import Any

__all__ = ["Answer", "header_lines", "parse_headers", "raw_lines"]

# A header line needing no parser: a token, a colon, printable ASCII (tabs allowed).
_PLAIN = re.compile(rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e\t]*)\r?\n")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")


def parse_headers(fp: Any, _class: type = http.client.HTTPMessage) -> http.client.HTTPMessage:
    """``http.client.parse_headers``, the same lines read, a plain block set without parsing.

    The message holds what the ``email`` parser (``compat32``) would: each name as sent,
    each value with its leading blanks and its line end removed.
    """
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]  # its limits, too
    message = _class()
    for line in lines[:-1]:  # the last is the blank line that ends the block (or EOF)
        plain = _PLAIN.fullmatch(line)
        if plain is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=_class).parsestr(text)
        message.set_raw(plain[1].decode("ascii"), plain[2].decode("ascii"))
    message.set_payload("")  # as the parser leaves it: the block ends the text it reads
    return message


class Answer(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` whose head is read by :func:`parse_headers`.

    ``begin`` is the standard library's own function, run with :func:`parse_headers`
    where it names ``parse_headers``: the status line, ``100 Continue``, the version,
    chunked framing, ``will_close`` and the length are decided by the same code.
    """

    begin = types.FunctionType(
        http.client.HTTPResponse.begin.__code__,
        {**vars(http.client), "parse_headers": parse_headers},
        "begin",
    )


def raw_lines(lines: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in lines]


def header_lines(
    response: http.client.HTTPResponse,
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The answer's header lines as sent, and by lower-case name (decoded as httpx does);
    framing httpx refuses is refused here too."""
    lines = items = response.msg.items()
    if not all(name.isascii() and value.isascii() for name, value in items):
        with contextlib.suppress(UnicodeDecodeError):  # httpx: else UTF-8, else Latin-1
            items = [(n.decode(), v.decode()) for n, v in raw_lines(lines)]
    headers: dict[str, str] = {}
    for name, value in items:
        lowered = name.lower()
        headers[lowered] = f"{headers[lowered]}, {value}" if lowered in headers else value
    encodings = response.msg.get_all("transfer-encoding") or []
    if encodings and (len(encodings) > 1 or encodings[0].strip().lower() != "chunked"):
        raise http.client.HTTPException("Only Transfer-Encoding: chunked is supported")
    if "content-length" in headers:
        lengths = {length.strip() for length in headers["content-length"].split(",")}
        if len(lengths) != 1 or not _CONTENT_LENGTH.fullmatch(lengths.pop()):
            raise http.client.HTTPException("bad or conflicting Content-Length headers")
    return lines, headers
