"""Safe YAML loading that remembers where every key came from.

``parse_source`` turns YAML text into plain Python data (dict, list, str, int,
float, bool, None) and a map from key paths to 1-based line and column, so that
every later message can name the file, the line and the key. It refuses what a
registry must never load:

- any tag outside YAML's core schema (``!!python/object`` and friends, custom tags);
- documents larger than a byte limit, and alias bombs (aliases that expand the
  document past a node limit, or refer to themselves);
- duplicate keys (PyYAML silently keeps the last one), and several documents in
  one stream.

Timestamps stay strings (``created: 2026-05-19`` is the text the spec defines),
and mapping keys are always the text written (``on:`` is the key ``"on"``).

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .exceptions import Diagnostic, SpecError

KeyPath = tuple[str | int, ...]

DEFAULT_MAX_NODES = 500_000

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
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise _fail(origin, "yaml_syntax", f"YAML syntax error: {problem}", line, column) from exc
    except yaml.YAMLError as exc:
        raise _fail(origin, "yaml_syntax", f"YAML error: {exc}") from exc
    if node is None:
        raise _fail(origin, "empty_document", "the document is empty")
    _check_expansion(node, origin, max_nodes)
    builder = _Builder(origin)
    data = builder.build(node, ())
    return Source(origin=origin, text=text, data=data, positions=builder.positions)


def _check_expansion(root: yaml.Node, origin: str, max_nodes: int) -> None:
    """Refuse documents whose aliases expand past ``max_nodes`` values, or loop."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size_of(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            mark = node.start_mark
            raise _fail(
                origin,
                "recursive_alias",
                "an alias refers to a node that contains it (recursive YAML)",
                mark.line + 1,
                mark.column + 1,
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size_of(child)
                if total > max_nodes:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size_of(k) + size_of(v)
                if total > max_nodes:
                    break
        active.discard(key)
        sizes[key] = total
        return total

    if size_of(root) > max_nodes:
        raise _fail(
            origin,
            "alias_bomb",
            f"document expands to more than {max_nodes:,} values through aliases "
            "(an alias bomb?); refused",
        )


class _Builder:
    """Turns composed YAML nodes into plain data, recording key positions."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self._scalars = yaml.constructor.SafeConstructor()

    def _here(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def _error(self, node: yaml.Node, path: KeyPath, code: str, message: str) -> SpecError:
        line, column = self._here(node)
        return SpecError(
            [Diagnostic("error", code, message, self.origin, line, column, format_key_path(path))]
        )

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
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
            self.positions[child_path] = self._here(key_node)
            result[key] = self.build(value_node, child_path)
        return result
