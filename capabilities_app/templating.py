"""Mustache templates and bind variables (RUNTIME-CONTRACT §3 to §4).

A template (``{{imo}}``, ``{{env.NETBIRD_API_KEY}}``, a request body) renders over
layers of values looked up lazily, first match wins: the ``with`` values, then the
caller's parameters, then the bind variables. Values are inserted as written, never
HTML-escaped; a value that is not text is inserted as JSON (so ``"crewIds":
{{crewIds}}`` in a body template gives a JSON list). A name nothing defines renders
as nothing, as Mustache does, except a declared bind variable whose value is missing:
that is :class:`SecretMissing` (503), naming the variable and never a value.

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

import pystache
import yaml

from .exceptions import RegistryError
from .locations import is_file_location, location_path

MISSING = object()
_TAG = re.compile(r"\{\{\s*([^{}#^/!>&\s][^{}]*?)\s*\}\}")


class SecretMissing(RegistryError):
    code = "secret_missing"
    status = 503
    title = "A secret the capability needs is not set"


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


def _location_path(source: BindSource) -> Path | None:
    if not is_file_location(source.location):
        return None
    return location_path(str(source.location), source.base_dir)


@dataclass
class Binds:
    """The bind variables of one capability, resolved on demand."""

    sources: tuple[BindSource, ...] = ()
    environ: Any = field(default_factory=lambda: os.environ)

    def namespaces(self) -> set[str]:
        return {s.namespace for s in self.sources}

    def declares(self, variable: str) -> bool:
        return any(s.provider_key(variable) is not None for s in self.sources)

    def value(self, variable: str, namespace: str | None = None) -> str:
        """The variable's value; :class:`SecretMissing` when declared but unset."""
        for source in self.sources:
            if namespace is not None and source.namespace != namespace:
                continue
            key = source.provider_key(variable)
            if key is None:
                continue
            path = _location_path(source)
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


class _LazyContext(dict):
    """A Mustache context that asks its layers for a name only when a template uses it."""

    def __init__(self, layers: Iterable[Lookup], binds: Binds | None) -> None:
        super().__init__()
        self._layers = tuple(layers)
        self._binds = binds
        self._bind_namespaces = binds.namespaces() if binds else set()

    def _resolve(self, key: str) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        value = MISSING
        for layer in self._layers:
            value = layer(key)
            if value is not MISSING:
                break
        if value is MISSING and self._binds is not None:
            if key in self._bind_namespaces:
                value = _BindNamespace(self._binds, key)
            elif self._binds.declares(key):
                value = self._binds.value(key)
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
        return self._binds.value(key, self._namespace)


_ONE_TAG = re.compile(r"\{\{\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*\}\}")


def render(template: str, layers: Iterable[Lookup], binds: Binds | None = None) -> str:
    """Render ``template`` over ``layers`` (first match wins), then ``binds``."""
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
