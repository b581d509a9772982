"""The consumes family: an upstream API, its resources, operations and parameters.

Imports only Django, ``store.models.parts`` and ``store.models.documents``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from capabilities_app.store.models.documents import Capability
from capabilities_app.store.models.parts import (
    AUTHENTICATION_TYPES,
    DocumentPart,
    Method,
    ParameterLocation,
    Scope,
    _char,
    _json,
    _one_parent,
    _parent,
    _text,
    _unique,
)

__all__ = [
    "ConsumedOperation",
    "ConsumedOutputParameter",
    "ConsumedParameter",
    "ConsumedResource",
    "Consumes",
]


class Consumes(DocumentPart):
    """A ``consumes`` entry: one upstream HTTP API (or one imported from another document)."""

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="consumes")
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.CAPABILITY)
    namespace = models.CharField(max_length=255, help_text="Used by `call: namespace.operation`.")
    type = models.CharField(max_length=32, default="http")
    description = _text("description")
    base_uri = _char(
        "base URI",
        2048,
        help_text="Upstream base URI. Empty or templated: the capability answers 503 "
        "until an admin sets it.",
    )
    authentication = _json(
        "authentication",
        help_text="{type: bearer|basic|digest|apikey|oauth2, …}; use {{VARIABLE}} for secrets.",
    )
    import_location = _char(
        "imported from", 2048, help_text="`location` of an imported consumes block."
    )
    import_name = _char("import", help_text="Namespace taken from that document.")
    import_alias = _char("as", help_text="Namespace it is known by here.")
    import_description = _text("import description")
    import_sha256 = models.CharField(
        "imported document SHA-256", max_length=64, blank=True, default=""
    )

    class Meta(DocumentPart.Meta):
        verbose_name_plural = "consumes"
        constraints = [_unique("consumes_namespace_unique", "capability", "namespace")]

    def __str__(self) -> str:
        return self.namespace

    @property
    def is_imported(self) -> bool:
        return bool(self.import_location)

    def clean(self) -> None:
        super().clean()
        auth = self.authentication
        if auth is not None and (
            not isinstance(auth, dict) or auth.get("type") not in AUTHENTICATION_TYPES
        ):
            raise ValidationError(
                {
                    "authentication": "Authentication is a mapping whose type is one of: "
                    + ", ".join(AUTHENTICATION_TYPES)
                    + "."
                }
            )


class ConsumedResource(DocumentPart):
    """A resource (path) of a consumed API."""

    consumes = models.ForeignKey(Consumes, on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(max_length=255)
    label = _char("label", 500)
    description = _text("description")
    path = models.CharField(max_length=2048, help_text="Relative to the base URI; {x} or {{x}}.")

    class Meta(DocumentPart.Meta):
        constraints = [_unique("consumed_resource_name_unique", "consumes", "name")]

    def __str__(self) -> str:
        return f"{self.name} {self.path}"


class ConsumedOperation(DocumentPart):
    """An operation of a consumed resource: what `call: namespace.name` runs upstream."""

    resource = models.ForeignKey(
        ConsumedResource, on_delete=models.CASCADE, related_name="operations"
    )
    name = models.CharField(max_length=255)
    label = _char("label", 500)
    description = _text("description")
    method = models.CharField(max_length=8, choices=Method.choices)
    output_raw_format = _char(
        "output raw format", 32, help_text="json (default), xml, csv, tsv, psv, yaml, …"
    )
    output_schema = _json("output schema")
    body = _json("body", help_text="A Mustache string, or {type, data}.")

    class Meta(DocumentPart.Meta):
        constraints = [_unique("consumed_operation_name_unique", "resource", "name")]

    def __str__(self) -> str:
        return self.call_name

    @property
    def call_name(self) -> str:
        """How a ``call`` names this operation: ``namespace.name``."""
        return f"{self.resource.consumes.namespace}.{self.name}"


class ConsumedParameter(DocumentPart):
    """An input parameter of a consumed API, resource or operation (exactly one of them)."""

    consumes = _parent(Consumes, "parameters")
    resource = _parent(ConsumedResource, "parameters")
    operation = _parent(ConsumedOperation, "parameters")
    name = models.CharField(max_length=255)
    location = models.CharField("in", max_length=16, choices=ParameterLocation.choices)
    value = _json("value", help_text="A literal, or a Mustache template such as {{VAR}}.")
    type = _char("type", 64)
    required = models.BooleanField(null=True, blank=True)
    description = _text("description")

    class Meta(DocumentPart.Meta):
        constraints = [
            _one_parent("consumed_parameter_one_parent", "consumes", "resource", "operation"),
            # A name is unique per location under whichever parent the parameter has.
            *(
                _unique(
                    f"consumed_parameter_unique_in_{parent}",
                    parent,
                    "name",
                    "location",
                    condition=Q(**{f"{parent}__isnull": False}),
                )
                for parent in ("consumes", "resource", "operation")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class ConsumedOutputParameter(DocumentPart):
    """An output parameter of a consumed operation (a JSONPath projection for steps)."""

    operation = models.ForeignKey(
        ConsumedOperation, on_delete=models.CASCADE, related_name="output_parameters"
    )
    name = _char("name")
    type = _char("type", 64)
    value = _text("value", help_text="JSONPath; $ is the whole response.")

    def __str__(self) -> str:
        return self.name or "(unnamed)"
