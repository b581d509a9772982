"""The words ``layout`` is written in: the format's versions and value sets, the name
patterns, and the types that map a document key to a model (``Field``, ``Children``,
``Group``) and one kind of object to its model (``Part``).

Pure data: must not import Django, httpx or the MCP SDK, nor any other module of the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BIND_VARIABLE_PATTERN",
    "CONSUMES_TYPES",
    "EXPOSE_TYPES",
    "HTTP_METHODS",
    "NAME_PATTERN",
    "PARAMETER_LOCATIONS",
    "SUPPORTED_VERSIONS",
    "Children",
    "Field",
    "FieldKind",
    "Group",
    "Member",
    "Part",
]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PARAMETER_LOCATIONS = ("query", "header", "path", "cookie", "body", "environment")
EXPOSE_TYPES = ("rest", "mcp", "skill", "control")
CONSUMES_TYPES = ("http",)
SUPPORTED_VERSIONS = ("1.0.0-alpha1", "1.0.0-alpha2")

# The registry's own name for a document (also a URL segment in the admin).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# The spec's pattern for bind variables (``{{VARIABLE}}``).
BIND_VARIABLE_PATTERN = r"^[A-Z][A-Z0-9_]*$"

FieldKind = Literal["str", "int", "bool", "scalar", "json", "call", "ref"]


@dataclass(frozen=True)
class Field:
    """A key whose value is stored in one model attribute.

    ``kind`` says what the value may be: ``str``, ``int``, ``bool``; ``scalar`` (text,
    number or boolean, kept with its type); ``json`` (anything); ``call`` (``ns.op``,
    stored as a foreign key to the consumed operation); ``ref`` (``ns.fn``, stored as
    a foreign key to the aggregate function).
    """

    key: str
    attr: str
    kind: FieldKind = "str"
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Children:
    """A key holding a list of parts (or, with ``mapping``, a name → value mapping)."""

    key: str
    part: str
    parent_attr: str
    when: tuple[str, ...] = ()  # parent ``type`` values for which this applies
    fixed: tuple[tuple[str, str], ...] = ()  # attributes set on every child
    mapping: tuple[str, str] | None = None  # (attr for the key, attr for the value)
    scalar_attr: str | None = None  # a list of plain values stored one per row


@dataclass(frozen=True)
class Group:
    """A nested mapping whose keys live on the same model (``info``, ``hints``)."""

    key: str
    members: tuple[Field | Children, ...]


Member = Field | Children | Group


@dataclass(frozen=True)
class Part:
    """One kind of object in a document and the model that stores it."""

    name: str
    model: str
    order: tuple[str, ...]
    members: tuple[Member, ...]
    unique: tuple[str, ...] = ()
    # ORM lookups from this model to its capability (one per possible parent).
    capability_paths: tuple[str, ...] = ()
    extra_attr: str = "extra"
    members_by_key: dict[str, Member] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members_by_key", {})
        for member in self.members:
            self.members_by_key.setdefault(member.key, member)

    def members_for(self, parent_type: str | None) -> dict[str, Member]:
        """Members that apply when the object's own ``type`` is ``parent_type``."""
        result: dict[str, Member] = {}
        for member in self.members:
            if isinstance(member, Children) and member.when and parent_type not in member.when:
                continue
            result.setdefault(member.key, member)
        return result
