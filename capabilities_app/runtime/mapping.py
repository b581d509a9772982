"""Upstream bodies to JSON, and output parameters to the caller's result (RUNTIME-CONTRACT §5).

``decode`` turns an upstream body into JSON-like data according to the operation's
``outputRawFormat`` (json, xml, csv, tsv, psv, yaml; anything else stays text).
``map_outputs`` applies the exposed output parameters to that data: ``mapping`` and
``value`` are JSONPath (python-jsonpath) over the current node, ``$`` and ``$.`` are
the node itself, objects are built property by property and arrays item by item.

XML keeps its root element (``$.root.user``); a path that finds nothing there is
tried again below the root (``$.user``), which is how the reference engine's XML
mapper reads documents.

Every format is decoded under the limits of ``decoding`` (values, nesting depth; YAML
aliases counted expanded; no XML entities): an answer past them is 502
``upstream_too_complex``, one that does not parse 502 ``upstream_invalid``. YAML is
read by the importer's loader (core schema only, timestamps as text).

Must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import csv
import functools
import re
from typing import Any
from xml.parsers.expat import ExpatError

import jsonpath
import yaml

from capabilities_app.core import decoding
from capabilities_app.core.errors import OutputTooComplex, SpecError, UpstreamInvalid
from capabilities_app.store import loader

__all__ = ["JSON_FORMATS", "decode", "is_pass_through", "map_outputs", "select"]

JSON_FORMATS = {"json", None, ""}
_DELIMITERS = {"csv": ",", "tsv": "\t", "psv": "|"}


def is_pass_through(outputs: list[dict[str, Any]] | None) -> bool:
    """``[{type: object, mapping: $.}]``: the document as it came."""
    if not outputs or len(outputs) != 1:
        return False
    only = outputs[0]
    return (
        isinstance(only, dict)
        and only.get("mapping") in ("$", "$.")
        and "properties" not in only
        and "items" not in only
        and "value" not in only
        and "const" not in only
        and only.get("type") in ("object", "array", None)
    )


def decode(
    content: bytes, raw_format: str | None, limits: decoding.Limits = decoding.DEFAULT
) -> Any:
    """The upstream body as data, within ``limits``.

    :class:`OutputTooComplex` past a limit, :class:`UpstreamInvalid` when it does not
    parse (or declares XML entities).
    """
    fmt = (raw_format or "json").lower()
    if fmt not in ("json", "xml", "yaml", *_DELIMITERS):
        return content.decode("utf-8", errors="replace")
    try:
        if fmt == "json":
            return decoding.load_json(content, limits) if content.strip() else None
        if fmt == "xml":
            return decoding.load_xml(content, limits)
        if fmt in _DELIMITERS:
            return decoding.load_delimited(content, _DELIMITERS[fmt], limits)
        return loader.load_data(content.decode("utf-8-sig"), limits)
    except decoding.Refused as exc:
        error = OutputTooComplex if exc.limit else UpstreamInvalid
        raise error(f"the upstream answer ({fmt}) is refused: {exc}") from exc
    except SpecError as exc:  # a YAML tag or key the loader does not read
        messages = "; ".join(d.message for d in exc.diagnostics)
        raise UpstreamInvalid(f"the upstream answer is not valid {fmt}: {messages}") from exc
    except (ValueError, UnicodeDecodeError, ExpatError, csv.Error, yaml.YAMLError) as exc:
        raise UpstreamInvalid(f"the upstream answer is not valid {fmt}: {exc}") from exc


# A path of member names only (``$.a.b``): the common case, resolved by key lookups.
_NAMES = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


@functools.lru_cache(maxsize=4096)
def _compiled(path: str) -> tuple[str, ...] | jsonpath.JSONPath | jsonpath.CompoundJSONPath:
    """``path`` compiled once: a tuple of member names for ``$.a.b``, else a JSONPath.

    A member-name path is singular and selects what JSONPath selects: the member of an
    object, nothing from anything else. ``tests/unit/test_mapping.py`` holds the two
    to the same answers.
    """
    if path in ("$.", ""):
        path = "$"
    if _NAMES.fullmatch(path):
        return tuple(path[2:].split("."))
    return jsonpath.compile(path)


def _names(names: tuple[str, ...], node: Any) -> list[Any]:
    for name in names:
        if not isinstance(node, dict) or name not in node:
            return []
        node = node[name]
    return [node]


def select(path: str, node: Any, *, xml_root: bool = False) -> Any:
    """The value ``path`` names in ``node``: one value for a singular path, else a list."""
    query = _compiled(path)
    if isinstance(query, tuple):
        matches = _names(query, node)
        if not matches and xml_root and isinstance(node, dict) and len(node) == 1:
            matches = _names(query, next(iter(node.values())))
        return matches[0] if matches else None
    matches = query.findall(node)
    if not matches and xml_root and isinstance(node, dict) and len(node) == 1:
        matches = query.findall(next(iter(node.values())))
    if isinstance(query, jsonpath.JSONPath) and query.singular_query():
        return matches[0] if matches else None
    return matches


def map_outputs(outputs: list[dict[str, Any]], data: Any, *, xml: bool = False, render=None) -> Any:
    """Apply output parameters to ``data``.

    One unnamed parameter gives the result itself; named parameters give an object
    keyed by name. ``render`` renders a ``value`` template (mock outputs).
    """
    if len(outputs) == 1 and not outputs[0].get("name"):
        return _map(outputs[0], data, xml, render)
    return {
        p.get("name"): _map(p, data, xml, render)
        for p in outputs
        if isinstance(p, dict) and p.get("name")
    }


def _map(param: dict[str, Any], node: Any, xml: bool, render) -> Any:
    if "const" in param:
        return param["const"]
    if "value" in param and "mapping" not in param:
        value = param["value"]
        if isinstance(value, str) and value.startswith("$"):
            return select(value, node, xml_root=xml)
        return render(value) if render is not None and isinstance(value, str) else value
    kind = param.get("type")
    base = select(param["mapping"], node, xml_root=xml) if "mapping" in param else node
    if kind == "object" and isinstance(param.get("properties"), dict):
        if base is None:
            return None
        return {
            key: _map(sub, base, False, render) if isinstance(sub, dict) else None
            for key, sub in param["properties"].items()
        }
    if kind == "array":
        items = base if isinstance(base, list) else ([] if base is None else [base])
        spec = param.get("items")
        if isinstance(spec, dict) and ("properties" in spec or "mapping" in spec):
            return [_map(spec, item, False, render) for item in items]
        if isinstance(spec, list):  # orchestrated form: [{name, type}] fields
            names = [f.get("name") for f in spec if isinstance(f, dict)]
            return [
                {n: item.get(n) for n in names} if isinstance(item, dict) else item
                for item in items
            ]
        return items
    return base
