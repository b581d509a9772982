"""Path templates: a REST resource path, a consumed resource path or an MCP resource URI
with ``{x}`` or ``{{x}}`` variables, split once into literals and names.

The one reading of a template for every layer: the store's checks take its variables
(``store.specs``), the runtime compiles routes from it and matches MCP resource URIs
with it (``runtime.routing``). :meth:`PathTemplate.pattern` is the regex that matches a
template (literals as they are, each variable exactly one ``/``-free segment).

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PathTemplate"]

_TEMPLATE_VARIABLE = re.compile(r"\{\{?\s*([^{}]+?)\s*\}?\}")
_SEGMENT = "([^/]+)"


@dataclass(frozen=True)
class PathTemplate:
    """A path with ``{x}``/``{{x}}`` variables, split once: literal, name, literal, …"""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> PathTemplate:
        return cls(tuple(_TEMPLATE_VARIABLE.split(path)))

    @property
    def variables(self) -> tuple[str, ...]:
        return self.parts[1::2]

    @property
    def ends_with_variable(self) -> bool:
        return len(self.parts) > 1 and self.parts[-1] == ""

    def pattern(self, *, rest_of_path: bool = False) -> str:
        """The regex source matching the template: literals escaped, each variable one
        segment; with ``rest_of_path``, a variable that ends the template takes the rest
        of the path (slashes included)."""
        pattern = ""
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                pattern += re.escape(part)
            elif rest_of_path and self.ends_with_variable and i == len(self.parts) - 2:
                pattern += "(.+)"
            else:
                pattern += _SEGMENT
        return pattern

    def match(self, text: str) -> dict[str, str] | None:
        """The value of each variable in ``text`` as it is written there (None: no match)."""
        found = re.fullmatch(self.pattern(), text)
        if found is None:
            return None
        return dict(zip(self.variables, found.groups(), strict=True))
