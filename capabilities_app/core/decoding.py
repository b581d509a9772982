"""Bounded decoding of untrusted text: JSON, XML, CSV-like and YAML, under the same limits.

Upstream answers (``mapping.decode``), request bodies (``runtime.RestCaller``) and
imported documents (``loader``) are decoded here or guarded here first, so that no
input decides how much memory or stack the registry spends on it:

- **values** (``Limits.max_values``, default :data:`MAX_VALUES`): the decoded data may
  hold this many values (containers and the values inside them; YAML aliases count
  as many times as they are used, which is what defuses alias bombs);
- **depth** (``Limits.max_depth``, default :data:`MAX_DEPTH`): containers nest this
  deep at most (Python's recursion, in ``json`` and in every later walk of the data,
  would otherwise fail with ``RecursionError`` somewhere far from the input);
- XML **entity declarations** are refused outright (billion laughs), and no external
  entity is ever fetched.

The byte size is bounded before decoding, by whoever read the bytes
(``REGISTRY_MAX_UPSTREAM_BYTES``, ``REGISTRY_MAX_BODY_BYTES``,
``REGISTRY_MAX_DOCUMENT_BYTES``).

The checks run before the data is built, in C where possible (``bytes`` methods, the
``re`` engine, expat, libyaml's event parser), and stop at the first value past a
limit. A refusal is a :class:`Refused` (a limit or a forbidden construct, with the
line and column when known); malformed input raises what the parser raises.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

import xmltodict
import yaml

__all__ = [
    "DEFAULT",
    "MAX_DEPTH",
    "MAX_VALUES",
    "Limits",
    "Refused",
    "load_delimited",
    "load_json",
    "load_xml",
    "scan_yaml",
]

MAX_VALUES = 500_000
MAX_DEPTH = 100

# Prefer libyaml's parser; fall back to the pure-Python one where it is missing.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Limits:
    max_values: int = MAX_VALUES
    max_depth: int = MAX_DEPTH


DEFAULT = Limits()


class Refused(ValueError):
    """Input refused by a limit (``limit=True``) or as a forbidden construct.

    ``code`` is stable: ``too_many_values``, ``too_deep``, ``alias_bomb``,
    ``recursive_alias`` (limits) or ``xml_entities`` (forbidden). ``line`` and
    ``column`` are 1-based, when the format has them.
    """

    def __init__(
        self, code: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    @property
    def limit(self) -> bool:
        return self.code != "xml_entities"


def _too_many(limits: Limits, what: str = "values", **where: int | None) -> Refused:
    return Refused("too_many_values", f"it has more than {limits.max_values:,} {what}", **where)


def _too_deep(limits: Limits, **where: int | None) -> Refused:
    return Refused("too_deep", f"it nests deeper than {limits.max_depth:,} levels", **where)


# --------------------------------------------------------------------------- JSON

# Once escapes are taken out: strings and everything else up to the next character
# that starts a value outside a string ('[', '{' or ','), or the end (possessive, so
# a long run keeps no backtracking state; matching at every position, so no position
# is scanned twice).
_JSON_VALUE_START = re.compile(rb'(?:"[^"]*+"|[^\[{,"]++)*+([\[{,]|\Z)')
_JSON_CONTAINERS = (dict, list)


def load_json(content: bytes | str, limits: Limits = DEFAULT) -> Any:
    """``json.loads(content)``, within ``limits``.

    Values are containers plus the elements and members inside them. Their count
    is bounded before parsing: the commas and brackets of the whole text are an
    upper bound (strings may hold some), and only when that bound is over the limit
    are they counted exactly, outside strings, stopping at the limit. The depth is
    checked on the parsed data (``json`` itself stops far below Python's recursion
    limit with ``RecursionError``). Raises :class:`Refused`, or ``ValueError`` as
    json does.
    """
    raw = content.encode() if isinstance(content, str) else content
    if json.detect_encoding(raw) != "utf-8":  # UTF-16/32: count on its UTF-8 form
        raw = raw.decode(json.detect_encoding(raw)).encode()
    opens = raw.count(b"[") + raw.count(b"{")
    if opens + raw.count(b",") + 1 > limits.max_values:
        _count_json_values(raw, limits)
    try:
        data = json.loads(content)
    except RecursionError as exc:
        raise _too_deep(limits) from exc
    if opens > limits.max_depth and _deeper_than(data, limits.max_depth):
        raise _too_deep(limits)
    return data


def _count_json_values(raw: bytes, limits: Limits) -> None:
    """Count the values of ``raw`` outside strings; refuse at the first one past the limit."""
    if b"\\" in raw:
        # An escaped backslash first, then escaped quotes: every quote left delimits.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    if raw.count(b'"') % 2:
        raise ValueError("the JSON text has an unterminated string")
    values = 1
    for match in _JSON_VALUE_START.finditer(raw):
        if match.end(1) > match.start(1):  # not the end
            values += 1
            if values > limits.max_values:
                raise _too_many(limits)


def _deeper_than(data: Any, max_depth: int) -> bool:
    """Whether containers in ``data`` nest deeper than ``max_depth`` (no recursion)."""
    if not isinstance(data, _JSON_CONTAINERS):
        return False
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, _JSON_CONTAINERS):
                stack.append((child, depth + 1))
    return False


# --------------------------------------------------------------------------- XML


def load_xml(content: bytes, limits: Limits = DEFAULT) -> Any:
    """``xmltodict.parse(content)`` once a first pass of expat found it within ``limits``.

    Elements and attributes count as values; entity declarations are refused.
    Raises :class:`Refused`, or ``ExpatError`` when the XML is malformed.
    """
    _scan_xml(content, limits)
    # disable_entities (xmltodict's default, kept explicit) refuses entity declarations.
    return xmltodict.parse(content, encoding="utf-8", disable_entities=True)


def _scan_xml(content: bytes, limits: Limits) -> None:
    parser = expat.ParserCreate("utf-8")
    depth = 0
    values = 0

    def where() -> dict[str, int]:
        return {"line": parser.CurrentLineNumber, "column": parser.CurrentColumnNumber + 1}

    def start(_name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, values
        depth += 1
        values += 1 + len(attributes)
        if depth > limits.max_depth:
            raise _too_deep(limits, **where())
        if values > limits.max_values:
            raise _too_many(limits, "elements and attributes", **where())

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def entity(*_args: Any) -> None:
        raise Refused("xml_entities", "it declares XML entities, which are not read", **where())

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    parser.Parse(content, True)


# --------------------------------------------------------------------------- CSV, TSV, PSV


def load_delimited(content: bytes, delimiter: str, limits: Limits = DEFAULT) -> list[dict]:
    """Rows as objects keyed by the first row, as ``csv.DictReader`` builds them.

    Cells are counted before any row is built: when the delimiters and line ends
    (an upper bound of the cells) are over ``limits.max_values``, a first pass
    counts the cells exactly, row by row, and stops at the first row past the limit.
    The text is decoded incrementally, never as one string. Raises
    :class:`Refused`, ``csv.Error`` or ``UnicodeDecodeError``.
    """
    bound = content.count(delimiter.encode()) + content.count(b"\n") + 1
    if bound > limits.max_values:
        cells = 0
        reader = _delimited_rows(content, delimiter)
        for row in reader:
            cells += len(row)
            if cells > limits.max_values:
                raise _too_many(limits, "cells", line=reader.line_num)
    reader = _delimited_rows(content, delimiter)
    fieldnames: list[str] | None = None
    rows: list[dict] = []
    for row in reader:
        if fieldnames is None:
            fieldnames = row
            continue
        if not row:  # DictReader skips blank lines
            continue
        # Keyed like DictReader's rows: the extra cells of a long row under None (its restkey).
        item: dict[str | None, Any] = dict(zip(fieldnames, row, strict=False))
        if len(row) > len(fieldnames):
            item[None] = row[len(fieldnames) :]
        elif len(row) < len(fieldnames):
            for key in fieldnames[len(row) :]:
                item[key] = None
        rows.append(item)
    return rows


def _delimited_rows(content: bytes, delimiter: str):
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    return csv.reader(text, delimiter=delimiter)


# --------------------------------------------------------------------------- YAML


def scan_yaml(text: str, limits: Limits = DEFAULT) -> None:
    """Refuse YAML ``text`` whose data would be past ``limits``, before it is composed.

    One pass over libyaml's events, holding only a stack of open collections and
    the expanded size and height of each anchor: an alias counts as the whole node
    it names, so an alias bomb is refused at the alias that crosses the limit, and
    an alias used deep adds its own depth. A document over the limit *without*
    aliases is refused as such (``too_many_values``), one that gets there through
    aliases as ``alias_bomb``. Syntax errors are raised as ``yaml.YAMLError``.
    """
    # Per open collection: [anchor, values, height of the tallest child].
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (values, height)
    open_anchors: set[str] = set()
    plain = 0  # values written in the document
    expanded = 0  # values once aliases are expanded
    bomb: Refused | None = None

    def add(values: int, height: int) -> None:
        if stack:
            stack[-1][1] += values
            stack[-1][2] = max(stack[-1][2], height)

    for event in yaml.parse(text, Loader=_YamlLoader):
        mark = event.start_mark  # libyaml marks every event it parses
        where = {} if mark is None else {"line": mark.line + 1, "column": mark.column + 1}
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            plain += 1
            if plain > limits.max_values:
                raise _too_many(limits, "values", **where)
        if bomb is not None:  # only counting what is written, to tell the two apart
            continue
        if isinstance(event, yaml.ScalarEvent):
            expanded += 1
            if event.anchor:
                anchors[event.anchor] = (1, 0)
            add(1, 0)
        elif isinstance(event, yaml.CollectionStartEvent):
            expanded += 1
            if len(stack) + 1 > limits.max_depth:
                raise _too_deep(limits, **where)
            if event.anchor:
                open_anchors.add(event.anchor)
            stack.append([event.anchor, 1, 0])
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, values, height = stack.pop()
            if anchor:
                open_anchors.discard(anchor)
                anchors[anchor] = (values, height + 1)
            add(values, height + 1)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise Refused(
                    "recursive_alias",
                    "an alias refers to a node that contains it (recursive YAML)",
                    **where,
                )
            # An undefined alias is the composer's syntax error, reported after this scan.
            values, height = anchors.get(event.anchor, (1, 0)) if event.anchor else (1, 0)
            expanded += values
            if len(stack) + height > limits.max_depth:
                raise _too_deep(limits, **where)
            if expanded > limits.max_values:
                bomb = Refused(
                    "alias_bomb",
                    f"its aliases expand it past {limits.max_values:,} values (an alias bomb)",
                    **where,
                )
                continue
            add(values, height)
    if bomb is not None:
        raise bomb
