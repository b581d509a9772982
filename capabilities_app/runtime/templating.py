"""Mustache templates and bind variables (RUNTIME-CONTRACT §3 to §4).

A template (``{{imo}}``, ``{{env.NETBIRD_API_KEY}}``, a request body) renders over the
bind variables first, then layers of values looked up lazily, first match wins (the
``with`` values, then the caller's parameters). A name that is a declared bind
variable (``{{VAR}}``) or a bind namespace (``{{env.VAR}}``) is only ever read from the
binds: a caller can never shadow a bind (the trust boundary, §4). Values are inserted
as written, never HTML-escaped; a value that is not text is inserted as JSON (so
``"crewIds": {{crewIds}}`` in a body template gives a JSON list). A name nothing
defines renders as nothing, as Mustache does, except a declared bind variable whose
value is missing: that is :class:`SecretMissing` (503), naming the variable and never
a value.

A request body template renders with :func:`render_body`: a value from a layer (the
``with`` values, the caller, earlier steps) is escaped for the format it lands in
(a JSON string or one JSON value, XML text, a form field); a bind value, which the
document's own configuration supplies, is inserted as it is (it is a
:class:`BindValue`, which is how the two are told apart).

Bind variables come from the process environment (``keys: {VAR: ENV_NAME}``) or from
a flat YAML/JSON map at ``location: file:///…``, read when first needed and re-read
when the file changes.

Must not import Django models, httpx or the MCP SDK.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from xml.sax.saxutils import escape as xml_escape

import pystache
import yaml
from pystache.context import KeyNotFoundError
from pystache.parser import _EscapeNode, _InvertedNode, _LiteralNode, _SectionNode

from capabilities_app.core.errors import SecretMissing
from capabilities_app.core.locations import file_location_path, is_file_location

__all__ = [
    "BODY_FORMATS",
    "MISSING",
    "BindSource",
    "BindValue",
    "Binds",
    "Lookup",
    "Rendering",
    "compile_render",
    "has_tags",
    "mapping_layer",
    "render",
    "render_body",
    "render_value",
    "tag_names",
]

MISSING = object()
_TAG = re.compile(r"\{\{\s*([^{}#^/!>&\s][^{}]*?)\s*\}\}")


class _Renderer(pystache.Renderer):
    def str_coerce(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)


_renderer = _Renderer(escape=lambda text: text, missing_tags="ignore")


@functools.lru_cache(maxsize=4096)
def _parsed(template: str):
    return pystache.parse(template)


def has_tags(text: Any) -> bool:
    return isinstance(text, str) and "{{" in text


def tag_names(template: str) -> list[str]:
    return _TAG.findall(template)


# --------------------------------------------------------------------------- binds


@dataclass(frozen=True)
class BindSource:
    """One ``binds`` entry: a namespace of variables and where their values live."""

    namespace: str
    keys: tuple[tuple[str, str], ...]  # (VARIABLE, provider key)
    location: str | None = None
    base_dir: str | None = None  # for a relative file:// location

    def provider_key(self, variable: str) -> str | None:
        for name, key in self.keys:
            if name == variable:
                return key
        return None


class _FileMaps:
    """Flat YAML/JSON maps read from disk, cached until the file changes."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def read(self, path: Path) -> dict[str, Any]:
        try:
            stat = path.stat()
        except OSError:
            return {}
        # Size and inode too: a rewrite within one timestamp tick still shows.
        version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        cached = self._cache.get(path)
        if cached and cached[0] == version:
            return cached[1]
        with self._lock:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                data = None
            values = data if isinstance(data, dict) else {}
            self._cache[path] = (version, values)
            return values


_file_maps = _FileMaps()


@dataclass
class Binds:
    """The bind variables of one capability, resolved on demand."""

    sources: tuple[BindSource, ...] = ()
    environ: Any = field(default_factory=lambda: os.environ)

    def namespaces(self) -> frozenset[str]:
        return self._namespaces

    def variables(self) -> frozenset[str]:
        """Every declared variable name, whatever its namespace."""
        return self._variables

    def declares(self, variable: str) -> bool:
        return variable in self._variables

    @functools.cached_property
    def _namespaces(self) -> frozenset[str]:
        return frozenset(s.namespace for s in self.sources)

    @functools.cached_property
    def _variables(self) -> frozenset[str]:
        # Looked up for every name a template uses: a set, not a walk over the sources.
        return frozenset(name for s in self.sources for name, _ in s.keys)

    def value(self, variable: str, namespace: str | None = None) -> str:
        """The variable's value; :class:`SecretMissing` when declared but unset."""
        for source in self.sources:
            if namespace is not None and source.namespace != namespace:
                continue
            key = source.provider_key(variable)
            if key is None:
                continue
            path = file_location_path(source.location, source.base_dir)
            if source.location and path is None:
                if is_file_location(source.location):
                    raise SecretMissing(
                        f"bind variable {variable} reads the relative {source.location}, and "
                        "the document has no folder to find it in (it was uploaded)"
                    )
                raise SecretMissing(
                    f"bind variable {variable} reads {source.location.split('://')[0]}://, "
                    "which the registry does not support"
                )
            found = self.environ.get(key) if path is None else _file_maps.read(path).get(key)
            if found is None or found == "":
                where = f"environment variable {key}" if path is None else f"key {key} of {path}"
                raise SecretMissing(f"bind variable {variable} has no value ({where} is not set)")
            return str(found)
        raise KeyError(variable)


# --------------------------------------------------------------------------- rendering


Lookup = Callable[[str], Any]


class BindValue(str):
    """A bind variable's value: the document's own configuration, never a caller's.

    Body templates insert it as it is, where a layer's value is escaped; a plain
    ``str`` everywhere else.
    """

    __slots__ = ()


class _LazyContext(dict):
    """A Mustache context: the binds first, then the layers, each asked only when used."""

    def __init__(self, layers: Iterable[Lookup], binds: Binds | None) -> None:
        super().__init__()
        self._layers = tuple(layers)
        self._binds = binds
        self._namespaces = binds.namespaces() if binds is not None else frozenset()
        self._variables = binds.variables() if binds is not None else frozenset()

    def _resolve(self, key: str) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        # The trust boundary (§4): a bind's name never reaches a layer, so no caller
        # value (a query parameter, a body field, an MCP argument) can stand in for it.
        binds = self._binds  # None leaves both name sets empty
        if binds is not None and key in self._namespaces:
            value: Any = _BindNamespace(binds, key)
        elif binds is not None and key in self._variables:
            value = BindValue(binds.value(key))
        else:
            value = MISSING
            for layer in self._layers:
                value = layer(key)
                if value is not MISSING:
                    break
        dict.__setitem__(self, key, value)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._resolve(key) is not MISSING

    def __getitem__(self, key: str) -> Any:
        value = self._resolve(key)
        if value is MISSING:
            raise KeyError(key)
        return value


class _BindNamespace(dict):
    """``{{namespace.VARIABLE}}``: the variables of one bind namespace."""

    def __init__(self, binds: Binds, namespace: str) -> None:
        super().__init__()
        self._binds = binds
        self._namespace = namespace

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(
            s.namespace == self._namespace and s.provider_key(key) is not None
            for s in self._binds.sources
        )

    def __getitem__(self, key: str) -> str:
        return BindValue(self._binds.value(key, self._namespace))


_ONE_TAG = re.compile(r"\{\{\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*\}\}")


def render(template: str, layers: Iterable[Lookup], binds: Binds | None = None) -> str:
    """Render ``template`` over ``binds``, then ``layers`` (first match wins)."""
    if "{{" not in template:
        return template
    context = _LazyContext(layers, binds)
    single = _ONE_TAG.fullmatch(template)
    if single:  # the common case (a token, a value): no template engine needed
        value: Any = context
        for part in single.group(1).split("."):
            if not isinstance(value, dict) or part not in value:
                return ""
            value = value[part]
        return _renderer.str_coerce(value)
    return _renderer.render(_parsed(template), context)


Rendering = Callable[[tuple, "Binds | None"], Any]


def compile_render(template: str) -> Rendering:
    """What ``render(template, layers, binds)`` gives, the template read once (``plans``):
    a bind tag reads the binds on every call (never kept), a plain tag the layers; the
    rest, and any name the shortcuts do not settle, goes through :func:`render`."""
    if "{{" not in template:
        return lambda layers, binds: template
    single = _ONE_TAG.fullmatch(template)
    parts = single.group(1).split(".") if single else []
    if len(parts) == 1:
        key = parts[0]

        def one(layers: tuple, binds: Binds | None) -> Any:
            if binds is not None:
                if key in binds.namespaces():  # a namespace rendered as a value: rare
                    return render(template, layers, binds)
                if key in binds.variables():
                    return BindValue(binds.value(key))
            for layer in layers:
                value = layer(key)
                if value is not MISSING:
                    return _renderer.str_coerce(value)
            return ""

        return one
    if len(parts) == 2:
        namespace, variable = parts

        def namespaced(layers: tuple, binds: Binds | None) -> Any:
            if binds is None or namespace not in binds.namespaces():
                return render(template, layers, binds)
            if any(
                s.namespace == namespace and s.provider_key(variable) is not None
                for s in binds.sources
            ):
                return BindValue(binds.value(variable, namespace))
            return ""

        return namespaced
    return lambda layers, binds: render(template, layers, binds)


def render_value(value: Any, layers: Iterable[Lookup], binds: Binds | None = None) -> Any:
    """Render every string inside ``value`` (dicts and lists are walked)."""
    layers = tuple(layers)
    if isinstance(value, str):
        return render(value, layers, binds)
    if isinstance(value, dict):
        return {k: render_value(v, layers, binds) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, layers, binds) for v in value]
    return value


def mapping_layer(values: dict[str, Any]) -> Lookup:
    return lambda key: values.get(key, MISSING)


# --------------------------------------------------------------------------- body templates

# A JSON scalar a caller may send as text ("3", "true") and mean as that scalar.
_JSON_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
_ANY_TAG = re.compile(r"\{\{\{.*?\}\}\}|\{\{.*?\}\}", re.DOTALL)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _renderer.str_coerce(value)


def _in_json_string(value: Any) -> str:
    """Inside a JSON string literal of the template: the characters of a JSON string."""
    if value is MISSING:
        return ""
    if isinstance(value, BindValue):
        return str(value)
    return json.dumps(_as_text(value), ensure_ascii=False)[1:-1]


def _as_json_value(value: Any) -> str:
    """Outside quotes: exactly one JSON value (``null`` for a name nothing defines)."""
    if value is MISSING:
        return "null"
    if isinstance(value, BindValue):
        return str(value)
    if isinstance(value, str):
        return value if _JSON_SCALAR.fullmatch(value) else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _in_xml(value: Any) -> str:
    """XML text or attribute value: ``& < > " '`` as entities."""
    if value is MISSING:
        return ""
    if isinstance(value, BindValue):
        return str(value)
    return xml_escape(_as_text(value), {'"': "&quot;", "'": "&apos;"})


def _in_form(value: Any) -> str:
    """A field of an ``application/x-www-form-urlencoded`` body."""
    if value is MISSING:
        return ""
    if isinstance(value, BindValue):
        return str(value)
    return quote_plus(_as_text(value), safe="")


class _Insert:
    """A variable tag of a body template: its value escaped for where it lands.

    Stands in for pystache's own variable nodes (a parsed template is a list of text
    and nodes with ``render(engine, context)``).
    """

    __slots__ = ("escape", "key")

    def __init__(self, key: str, escape: Callable[[Any], str]) -> None:
        self.key = key
        self.escape = escape

    def render(self, engine: Any, context: Any) -> str:
        try:
            value = context.get(self.key)
        except KeyNotFoundError:
            value = MISSING
        return self.escape(value)


def _variable_nodes(parsed: Any) -> list[tuple[list, int]]:
    """Where each variable tag sits in a parsed template, in the order of the text."""
    found: list[tuple[list, int]] = []
    tree = parsed._parse_tree
    for index, node in enumerate(tree):
        if isinstance(node, _EscapeNode | _LiteralNode):
            found.append((tree, index))
        elif isinstance(node, _SectionNode):
            found.extend(_variable_nodes(node.parsed))
        elif isinstance(node, _InvertedNode):
            found.extend(_variable_nodes(node.parsed_section))
    return found


def _json_contexts(template: str) -> list[bool] | None:
    """For each variable tag of a JSON template: is it inside a string literal?

    The template's text between tags is scanned as JSON (quotes and backslash escapes);
    a section tag changes nothing. ``None`` when the template changes its delimiters.
    """
    contexts: list[bool] = []
    in_string = escaped = False
    position = 0
    for tag in _ANY_TAG.finditer(template):
        for char in template[position : tag.start()]:
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
        position = tag.end()
        text = tag.group(0)
        inner = text[2:-2].strip()
        if text.startswith("{{{") or not inner or inner[0] not in "#^/!>=":
            contexts.append(in_string)
        elif inner[0] == "=":
            return None
    return contexts


@functools.lru_cache(maxsize=1024)
def _body_template(template: str, body_format: str) -> Any:
    """``template`` parsed, each variable node replaced by an :class:`_Insert` (cached)."""
    parsed = pystache.parse(template)
    nodes = _variable_nodes(parsed)
    if body_format == "json":
        contexts = _json_contexts(template)
        if contexts is None or len(contexts) != len(nodes):
            # Not analysable (changed delimiters): one JSON value each, never raw text.
            contexts = [False] * len(nodes)
        escapes = [_in_json_string if inside else _as_json_value for inside in contexts]
    else:
        escapes = [_in_xml if body_format == "xml" else _in_form] * len(nodes)
    for (tree, index), escape in zip(nodes, escapes, strict=True):
        tree[index] = _Insert(tree[index].key, escape)
    return parsed


BODY_FORMATS = frozenset({"json", "xml", "form", "text"})


def render_body(
    template: str, body_format: str, layers: Iterable[Lookup], binds: Binds | None = None
) -> str:
    """A request body template, each value from a layer escaped for ``body_format``.

    ``json``: inside a string literal a value is JSON-string escaped; elsewhere it is
    exactly one JSON value (a string that already is a JSON number, ``true``, ``false``
    or ``null`` stays that scalar, any other string is quoted; a name nothing defines is
    ``null``). ``xml``: XML-escaped (text and attribute safe). ``form``: form-encoded.
    ``text``: as it is (plain text has nothing to escape). Bind values are inserted as
    they are in every format.
    """
    if "{{" not in template:
        return template
    if body_format == "text":
        return render(template, layers, binds)
    if body_format not in BODY_FORMATS:
        raise ValueError(f"unknown body format {body_format!r}")
    return _renderer.render(_body_template(template, body_format), _LazyContext(layers, binds))
