"""The document itself: a capability, its tags, its binds, and the registry's version stamp.

Imports only Django and ``store.models.parts``; the part families (consumes, exposes,
aggregates) import ``Capability`` from here, never the other way round.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone

from capabilities_app.store.fields import DocumentJSONField
from capabilities_app.store.models.parts import (
    BIND_VARIABLE_VALIDATOR,
    NAME_VALIDATOR,
    DocumentPart,
    Scope,
    _char,
    _json,
    _text,
    _unique,
)

__all__ = ["Bind", "BindKey", "Capability", "CapabilityTag", "RegistryState"]


class Capability(models.Model):
    """One imported document: a capability, or a shared consumes document others import."""

    class Kind(models.TextChoices):
        CAPABILITY = "capability", "capability"
        CONSUMES = "consumes", "shared consumes document"

    name = models.CharField(
        max_length=200,
        unique=True,
        validators=[NAME_VALIDATOR],
        help_text="The registry's name for this document (the file name when imported).",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CAPABILITY)
    enabled = models.BooleanField(
        default=True, help_text="Disabled capabilities are kept but not served."
    )
    spec_version = models.CharField(
        "naftiko version",
        max_length=32,
        choices=[("1.0.0-alpha1", "1.0.0-alpha1"), ("1.0.0-alpha2", "1.0.0-alpha2")],
        default="1.0.0-alpha2",
    )
    label = _char("label", 500)
    description = _text("description")
    created = _char("created", 32, help_text="info.created (YYYY-MM-DD).")
    modified = _char("modified", 32, help_text="info.modified (YYYY-MM-DD).")
    stakeholders = _json("stakeholders", help_text="info.stakeholders: [{role, fullName, email}].")
    extra = DocumentJSONField(
        "other keys",
        default=dict,
        blank=True,
        help_text="Keys the format does not define (at the root, in info, in capability).",
    )
    source_document = models.TextField(
        "source document", blank=True, help_text="The YAML text as imported."
    )
    source_sha256 = models.CharField("source SHA-256", max_length=64, blank=True)
    source_origin = models.CharField(
        "imported from", max_length=1024, blank=True, help_text="The file or upload name."
    )
    imported_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(
        "edited in the admin",
        null=True,
        blank=True,
        help_text="Last admin edit since the last import (empty: as imported). An import "
        "over an edited capability refuses unless forced, naming what it would overwrite.",
    )
    revision = models.PositiveIntegerField(
        default=1,
        help_text="Counts the changes of this capability in the registry: 1 at its first "
        "import, one more at every import that changes it and every admin edit of any of "
        "its parts. Its MCP Registry version is 1.0.<revision> (docs/mcp-registry.md).",
    )
    revised_at = models.DateTimeField(
        "revised at",
        default=timezone.now,
        help_text="When the revision last moved (the MCP Registry's publishedAt).",
    )
    changed_at = models.DateTimeField(
        "changed in the registry",
        default=timezone.now,
        db_index=True,
        help_text="When the capability last changed in the registry: a new revision, or "
        "enabled or disabled (the MCP Registry's updatedAt, what updated_since compares).",
    )
    unserved_parts = DocumentJSONField(
        "parts kept but not served",
        default=list,
        blank=True,
        help_text="Consumes and exposes entries a lenient import kept as written (an "
        "unsupported type, a namespace declared again): exported back, never served. "
        "[{path, reason, value}].",
    )

    class Meta:
        ordering = ("name",)
        verbose_name_plural = "capabilities"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The capability's catalog page (the admin's "View on site")."""
        return reverse("catalog:capability", kwargs={"name": self.name})


class CapabilityTag(models.Model):
    """One entry of ``info.tags``, in order."""

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="tags")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name


class Bind(DocumentPart):
    """A ``binds`` entry: a namespace of variables and where their values come from."""

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="binds")
    scope = models.CharField(
        max_length=16,
        choices=Scope.choices,
        default=Scope.CAPABILITY,
        help_text="Where the entry sits in the document.",
    )
    namespace = models.CharField(max_length=255)
    description = _text("description")
    location = _char(
        "location",
        2048,
        help_text="file:///… for a YAML or JSON map; empty: values come from the environment.",
    )

    class Meta(DocumentPart.Meta):
        constraints = [_unique("bind_namespace_unique", "capability", "namespace")]

    def __str__(self) -> str:
        return self.namespace


class BindKey(models.Model):
    """``VARIABLE: provider-key``: the variable a document uses and the key that holds its value."""

    bind = models.ForeignKey(Bind, on_delete=models.CASCADE, related_name="keys")
    position = models.PositiveIntegerField(default=0)
    variable = models.CharField(max_length=255, validators=[BIND_VARIABLE_VALIDATOR])
    provider_key = models.CharField(
        "provider key",
        max_length=255,
        help_text="Environment variable (or key in the location's map) that holds the value.",
    )

    class Meta:
        ordering = ("position", "id")
        constraints = [_unique("bind_key_unique", "bind", "variable")]

    def __str__(self) -> str:
        return f"{self.variable} → {self.provider_key}"


class RegistryState(models.Model):
    """One row: the version stamp of everything served.

    Every import and every admin edit bumps ``version``; each web and MCP process
    compares it with the version of its in-memory catalog (at most every
    ``REGISTRY_CATALOG_CHECK_SECONDS``) and rebuilds the catalog when it moved.
    """

    version = models.BigIntegerField(default=0)
    # Client keys and their grants have a stamp of their own: a new key or a revocation
    # reloads every process's key table (``clients``), not its catalog.
    clients_version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "registry state"

    def __str__(self) -> str:
        return f"version {self.version}"
