"""Safe YAML loading that remembers where every key came from.

``parse_source`` turns YAML text into plain Python data (dict, list, str, int,
float, bool, None) and a map from key paths to 1-based line and column, so that
every later message can name the file, the line and the key. It refuses what a
registry must never load:

- any tag outside YAML's core schema (``!!python/object`` and friends, custom tags);
- documents larger than a byte limit, and documents past the limits of
  ``decoding`` (checked on libyaml's events before anything is composed): more
  values than the limit (said as such), aliases that expand the document past it
  (an alias bomb) or refer to themselves, nesting deeper than the depth limit;
- duplicate keys (PyYAML silently keeps the last one), and several documents in
  one stream.

Timestamps stay strings (``created: 2026-05-19`` is the text the spec defines),
and mapping keys are always the text written (``on:`` is the key ``"on"``).

``load_data`` reads YAML the same way, without positions, for upstream answers.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from capabilities_app.core import decoding
from capabilities_app.core.errors import Diagnostic, SpecError

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_NODES",
    "KeyPath",
    "Source",
    "format_key_path",
    "load_data",
    "parse_source",
    "read_source",
    "too_large",
]


KeyPath = tuple[str | int, ...]

DEFAULT_MAX_NODES = decoding.MAX_VALUES
DEFAULT_MAX_DEPTH = decoding.MAX_DEPTH

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"

# Prefer libyaml's parser; fall back to the pure-Python one where it is missing.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def format_key_path(path: KeyPath) -> str:
    """``("capability", "exposes", 0, "call")`` → ``capability.exposes[0].call``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<document>"


@dataclass
class Source:
    """One YAML document as read: its text, hash, data and key positions."""

    origin: str
    text: str
    data: Any
    positions: dict[KeyPath, tuple[int, int]] = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def locate(self, path: KeyPath) -> tuple[int, int]:
        """Line and column of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def diagnostic(self, severity: str, code: str, path: KeyPath, message: str) -> Diagnostic:
        line, column = self.locate(path)
        return Diagnostic(
            # Callers pass "error" or "warning" (Severity); typed str where it is chosen.
            severity=severity,  # type: ignore[arg-type]
            code=code,
            message=message,
            origin=self.origin,
            line=line,
            column=column,
            key_path=format_key_path(tuple(path)),
        )


def _fail(origin: str, code: str, message: str, line: int = 1, column: int = 1) -> SpecError:
    return SpecError([Diagnostic("error", code, message, origin, line, column, "<document>")])


def read_source(path: Path, *, origin: str | None = None, max_bytes: int) -> Source:
    """Read and parse the YAML file at ``path``, refusing files over ``max_bytes``."""
    origin = origin or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(origin, "unreadable", f"cannot read file: {exc.strerror}") from exc
    if size > max_bytes:
        raise too_large(origin, size, max_bytes)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(origin, "unreadable", f"cannot read file: {exc.strerror}") from exc
    return parse_source(raw, origin=origin, max_bytes=max_bytes)


def too_large(origin: str, size: int, max_bytes: int) -> SpecError:
    return _fail(
        origin,
        "document_too_large",
        f"document is {size:,} bytes, over the limit of {max_bytes:,} bytes "
        "(REGISTRY_MAX_DOCUMENT_BYTES)",
    )


def parse_source(
    raw: bytes | str,
    *,
    origin: str,
    max_bytes: int,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Source:
    """Parse YAML ``raw`` into a :class:`Source`; raise :class:`SpecError` on anything unsafe."""
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if size > max_bytes:
        raise too_large(origin, size, max_bytes)
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail(
                origin, "not_utf8", f"document is not UTF-8 text (byte {exc.start})"
            ) from exc
    else:
        text = raw
    limits = decoding.Limits(max_values=max_nodes, max_depth=max_depth)
    try:
        node = _compose(text, limits)
    except decoding.Refused as exc:
        raise _fail(
            origin, exc.code, f"the document is refused: {exc}", exc.line or 1, exc.column or 1
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise _fail(origin, "yaml_syntax", f"YAML syntax error: {problem}", line, column) from exc
    except yaml.YAMLError as exc:
        raise _fail(origin, "yaml_syntax", f"YAML error: {exc}") from exc
    if node is None:
        raise _fail(origin, "empty_document", "the document is empty")
    builder = _Builder(origin)
    data = builder.build(node, ())
    return Source(origin=origin, text=text, data=data, positions=builder.positions)


def _compose(text: str, limits: decoding.Limits) -> yaml.Node | None:
    """The node graph of ``text``, composed only once its events are within ``limits``."""
    decoding.scan_yaml(text, limits)
    return yaml.compose(text, Loader=_Loader)


def load_data(text: str, limits: decoding.Limits = decoding.DEFAULT) -> Any:
    """YAML ``text`` as plain data, read as documents are (no positions kept).

    Raises :class:`decoding.Refused` past ``limits``, ``yaml.YAMLError`` on syntax,
    :class:`SpecError` on a tag or key the loader does not read.
    """
    node = _compose(text, limits)
    if node is None:
        return None
    return _Builder("<answer>", positions=False).build(node, ())


class _Builder:
    """Turns composed YAML nodes into plain data, recording key positions."""

    def __init__(self, origin: str, *, positions: bool = True) -> None:
        self.origin = origin
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self._record = positions
        self._scalars = yaml.constructor.SafeConstructor()

    def _here(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def _error(self, node: yaml.Node, path: KeyPath, code: str, message: str) -> SpecError:
        line, column = self._here(node)
        return SpecError(
            [Diagnostic("error", code, message, self.origin, line, column, format_key_path(path))]
        )

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if self._record:
            self.positions.setdefault(path, self._here(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self._unsafe(node, path)
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise self._unsafe(node, path)
            return self._mapping(node, path)
        raise self._unsafe(node, path)  # pragma: no cover - composer yields only these

    def _unsafe(self, node: yaml.Node, path: KeyPath) -> SpecError:
        return self._error(
            node,
            path,
            "unsafe_yaml_tag",
            f"YAML tag {node.tag!r} is not allowed: only plain YAML "
            "(strings, numbers, booleans, null, lists, mappings) is read",
        )

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag == _STR_TAG or node.tag == _TIMESTAMP_TAG:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            raise self._unsafe(node, path)
        return self._scalars.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        try:
            # Resolves YAML merge keys (<<) in place, as PyYAML's safe loader does.
            self._scalars.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            raise self._error(node, path, "yaml_syntax", str(exc.problem)) from exc
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(key_node, path, "complex_key", "mapping keys must be plain text")
            if key_node.tag not in _SCALAR_TAGS and key_node.tag != _TIMESTAMP_TAG:
                raise self._unsafe(key_node, path)
            key = str(key_node.value)
            child_path = (*path, key)
            if key in result:
                raise self._error(
                    key_node, child_path, "duplicate_key", f"duplicate key {key!r} in a mapping"
                )
            if self._record:
                self.positions[child_path] = self._here(key_node)
            result[key] = self.build(value_node, child_path)
        return result
