"""What every stored part shares: validators, choices, field helpers and the abstract bases.

``DocumentPart`` gives a part its place in its list and its unknown keys;
``CallingPart`` gives a part that runs something (a REST operation, a tool, an MCP
resource, an aggregate function) its ``with`` / ``steps`` / ``mappings`` /
``output parameters`` fields and, through ``CallerMixin``, the rule that what it
``call``\\s or ``ref``\\s belongs to its own capability.

Imports only Django and ``store.fields`` / ``store.vocabulary``; never another models module.
"""

from __future__ import annotations

import operator
from functools import reduce
from operator import attrgetter
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from capabilities_app.store.fields import DocumentJSONField
from capabilities_app.store.vocabulary import BIND_VARIABLE_PATTERN, HTTP_METHODS, NAME_PATTERN

__all__ = [
    "AUTHENTICATION_TYPES",
    "BIND_VARIABLE_VALIDATOR",
    "NAME_VALIDATOR",
    "CallerMixin",
    "CallingPart",
    "DocumentPart",
    "Method",
    "ParameterLocation",
    "Scope",
]

M = TypeVar("M", bound=models.Model)

AUTHENTICATION_TYPES = ("basic", "digest", "bearer", "apikey", "oauth2")

NAME_VALIDATOR = RegexValidator(
    NAME_PATTERN,
    "Use letters, digits, '.', '_' and '-', starting with a letter or digit.",
)
BIND_VARIABLE_VALIDATOR = RegexValidator(
    BIND_VARIABLE_PATTERN, "A bind variable is upper case: letters, digits and '_'."
)


# Django's functional API, so the members are ``HTTP_METHODS`` (the one list);
# django-stubs types only the class form of TextChoices.
Method = models.TextChoices("Method", [(m, m) for m in HTTP_METHODS])  # type: ignore[call-overload]


class ParameterLocation(models.TextChoices):
    QUERY = "query"
    HEADER = "header"
    PATH = "path"
    COOKIE = "cookie"
    BODY = "body"
    ENVIRONMENT = "environment"


class Scope(models.TextChoices):
    ROOT = "root", "document root"
    CAPABILITY = "capability", "capability block"


def _text(verbose_name: str, **kwargs) -> models.TextField:
    return models.TextField(verbose_name, null=True, blank=True, **kwargs)


def _char(verbose_name: str, max_length: int = 255, **kwargs) -> models.CharField:
    return models.CharField(verbose_name, max_length=max_length, null=True, blank=True, **kwargs)


def _json(verbose_name: str, **kwargs) -> DocumentJSONField:
    return DocumentJSONField(verbose_name, null=True, blank=True, **kwargs)


def _parent(to: type[M], related_name: str) -> models.ForeignKey[M | None, M | None]:
    """One of a part's several possible parents (``_one_parent`` says exactly one is set)."""
    return models.ForeignKey(
        to, on_delete=models.CASCADE, null=True, blank=True, related_name=related_name
    )


def _one_parent(name: str, *parents: str) -> models.CheckConstraint:
    """Exactly one of ``parents`` is set (one ``Q`` per choice, in the order given)."""
    choices = [Q(**{f"{p}__isnull": p != parent for p in parents}) for parent in parents]
    return models.CheckConstraint(condition=reduce(operator.or_, choices), name=name)


def _unique(name: str, *fields: str, **kwargs) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=list(fields), name=name, **kwargs)


def _target(to: str, verbose_name: str, related_name: str, help_text: str) -> models.ForeignKey:
    return models.ForeignKey(
        to,
        verbose_name=verbose_name,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name=related_name,
        help_text=help_text,
    )


_CALL_HELP = "The consumed operation this calls (written `namespace.operation`)."
_REF_HELP = "The aggregate function this reuses (written `namespace.function`)."


def _call(related_name: str) -> models.ForeignKey:
    return _target("ConsumedOperation", "call", related_name, _CALL_HELP)


def _ref(related_name: str) -> models.ForeignKey:
    return _target("AggregateFunction", "ref", related_name, _REF_HELP)


def _with(**kwargs) -> DocumentJSONField:
    return _json("with", db_column="with_values", **kwargs)


class DocumentPart(models.Model):
    """Fields every stored part of a document has: its place in its list, and unknown keys."""

    position = models.PositiveIntegerField(
        default=0, help_text="Order among its siblings in the document."
    )
    extra = DocumentJSONField(
        "other keys",
        default=dict,
        blank=True,
        help_text="Keys the format does not define, kept as written.",
    )

    class Meta:
        abstract = True
        ordering = ("position", "id")


class CallerMixin:
    """Invariants of parts that ``call`` an operation or ``ref`` a function.

    The target must belong to the same capability: a call names ``namespace.operation``
    of this document, never of another one. (A plain mixin, not a model: migration
    0001 names it among the bases of the four calling parts.)
    """

    # Attribute path from the part to its capability's id, e.g. "expose.capability_id".
    capability_id_path = ""

    def owner_capability_id(self) -> int | None:
        first = self.capability_id_path.split(".")[0]
        if getattr(self, f"{first}_id") is None:
            return None
        return attrgetter(self.capability_id_path)(self)

    def clean(self) -> None:
        # A mixin: the model class it is mixed into has clean(); mypy sees only object.
        super().clean()  # type: ignore[misc]
        capability_id = self.owner_capability_id()
        errors = {}
        call = getattr(self, "call", None)
        if call is not None and call.resource.consumes.capability_id != capability_id:
            errors["call"] = (
                f"{call.call_name} belongs to capability "
                f"{call.resource.consumes.capability.name!r}; call an operation of this one."
            )
        ref = getattr(self, "ref", None)
        if ref is not None and ref.aggregate.capability_id != capability_id:
            errors["ref"] = "Reference a function of an aggregate of this capability."
        if errors:
            raise ValidationError(errors)


class CallingPart(CallerMixin, DocumentPart):
    """A part that runs something: what it passes (``with``), its steps, how it maps the result.

    ``call`` (and ``ref``, for REST operations and tools) stay on each model: their
    reverse names (``ConsumedOperation.tools``, ``.exposed_operations``, …) differ per
    model and are part of the schema. Being abstract, this class adds nothing to the
    migrations' bases: they still read ``(CallerMixin, models.Model)``.
    """

    with_values = _with()
    steps = _json("steps")
    mappings = _json("mappings")
    output_parameters = _json("output parameters")

    class Meta(DocumentPart.Meta):
        abstract = True
