"""Where a ``file://`` location of a document points: one rule for every reader.

Bind maps (``binds[].location``), MCP resources and prompts (``location``) and
imported consumes documents (``consumes[].location``) all name files the same way:

- ``file:///abs/path`` (or a plain absolute path) is that path;
- ``file:///./x``, ``file:///../x``, ``file://x`` and a plain ``./x`` or ``x`` are
  relative to the folder of the document that holds them (its ``base_dir``).

A relative location with no known folder (an uploaded document has none) resolves
to nothing rather than to the process's working directory, which would make the same
capability read different files depending on where a server was started.

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "FILE_SCHEME",
    "document_folder",
    "file_location_path",
    "is_file_location",
    "location_path",
]

FILE_SCHEME = "file://"


def is_file_location(location: str | None) -> bool:
    return bool(location) and str(location).startswith(FILE_SCHEME)


def location_path(location: str, base_dir: str | Path | None) -> Path | None:
    """The file ``location`` names (``file://`` or a plain path), or None when it is
    relative and there is no folder to resolve it against."""
    raw = location[len(FILE_SCHEME) :] if location.startswith(FILE_SCHEME) else location
    # file:///./x and file:///../x are written for paths relative to the document.
    if raw.startswith(("/./", "/../")):
        raw = raw[1:]
    path = Path(raw)
    if path.is_absolute():
        return path
    if not base_dir:
        return None
    return Path(base_dir) / path


def file_location_path(location: str | None, base_dir: str | Path | None) -> Path | None:
    """The file a ``file://`` location names; None for any other location (a plain
    path, another scheme, nothing) and for a relative one with no folder to resolve it
    against. Bind maps are read only from ``file://`` locations."""
    if not is_file_location(location):
        return None
    return location_path(str(location), base_dir)


def document_folder(origin: str | None) -> str | None:
    """The folder relative locations of a stored document resolve against.

    ``origin`` is where the document was imported from (``Capability.source_origin``):
    an absolute file path gives its folder; an upload's bare file name, a
    ``registry:`` origin or nothing gives None. A relative path with a folder part
    (stored before origins were made absolute) still resolves as it did then, against
    the working directory.
    """
    if not origin or origin.startswith("registry:"):
        return None
    path = Path(origin)
    if path.is_absolute():
        return str(path.parent)
    if len(path.parts) > 1:
        return str(path.parent)
    return None
