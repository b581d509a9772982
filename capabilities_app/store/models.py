"""The capability store: every part of a Naftiko capability document as a model.

The models follow the list-based ``naftiko`` 1.0.0-alpha1/alpha2 format part by part
(``layout`` says which key maps to which field), normalised so that an admin can edit
each part on its own page. Optional keys are nullable fields: ``NULL`` means the key
is absent, ``""`` means it was written empty. Keys the format does not define are
kept as written in each model's ``extra`` field, so an export gives back what was
imported.

Models do no network I/O and know nothing of YAML.
"""

from __future__ import annotations

import uuid
from operator import attrgetter

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from capabilities_app.store.fields import DocumentJSONField
from capabilities_app.store.layout import BIND_VARIABLE_PATTERN, HTTP_METHODS, NAME_PATTERN

AUTHENTICATION_TYPES = ("basic", "digest", "bearer", "apikey", "oauth2")

NAME_VALIDATOR = RegexValidator(
    NAME_PATTERN,
    "Use letters, digits, '.', '_' and '-', starting with a letter or digit.",
)
BIND_VARIABLE_VALIDATOR = RegexValidator(
    BIND_VARIABLE_PATTERN, "A bind variable is upper case: letters, digits and '_'."
)


Method = models.TextChoices("Method", [(m, m) for m in HTTP_METHODS])


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


def _call(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "ConsumedOperation",
        verbose_name="call",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name=related_name,
        help_text="The consumed operation this calls (written `namespace.operation`).",
    )


def _ref(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "AggregateFunction",
        verbose_name="ref",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name=related_name,
        help_text="The aggregate function this reuses (written `namespace.function`).",
    )


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
    of this document, never of another one.
    """

    # Attribute path from the part to its capability's id, e.g. "expose.capability_id".
    capability_id_path = ""

    def owner_capability_id(self) -> int | None:
        first = self.capability_id_path.split(".")[0]
        if getattr(self, f"{first}_id") is None:
            return None
        return attrgetter(self.capability_id_path)(self)

    def clean(self) -> None:
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
        constraints = [
            models.UniqueConstraint(
                fields=["capability", "namespace"], name="bind_namespace_unique"
            )
        ]

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
        constraints = [models.UniqueConstraint(fields=["bind", "variable"], name="bind_key_unique")]

    def __str__(self) -> str:
        return f"{self.variable} → {self.provider_key}"


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
        constraints = [
            models.UniqueConstraint(
                fields=["capability", "namespace"], name="consumes_namespace_unique"
            )
        ]

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
        constraints = [
            models.UniqueConstraint(
                fields=["consumes", "name"], name="consumed_resource_name_unique"
            )
        ]

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
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "name"], name="consumed_operation_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.call_name

    @property
    def call_name(self) -> str:
        """How a ``call`` names this operation: ``namespace.name``."""
        return f"{self.resource.consumes.namespace}.{self.name}"


class ConsumedParameter(DocumentPart):
    """An input parameter of a consumed API, resource or operation (exactly one of them)."""

    consumes = models.ForeignKey(
        Consumes, on_delete=models.CASCADE, null=True, blank=True, related_name="parameters"
    )
    resource = models.ForeignKey(
        ConsumedResource,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parameters",
    )
    operation = models.ForeignKey(
        ConsumedOperation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parameters",
    )
    name = models.CharField(max_length=255)
    location = models.CharField("in", max_length=16, choices=ParameterLocation.choices)
    value = _json("value", help_text="A literal, or a Mustache template such as {{VAR}}.")
    type = _char("type", 64)
    required = models.BooleanField(null=True, blank=True)
    description = _text("description")

    class Meta(DocumentPart.Meta):
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(consumes__isnull=False, resource__isnull=True, operation__isnull=True)
                    | Q(consumes__isnull=True, resource__isnull=False, operation__isnull=True)
                    | Q(consumes__isnull=True, resource__isnull=True, operation__isnull=False)
                ),
                name="consumed_parameter_one_parent",
            ),
            models.UniqueConstraint(
                fields=["consumes", "name", "location"],
                condition=Q(consumes__isnull=False),
                name="consumed_parameter_unique_in_consumes",
            ),
            models.UniqueConstraint(
                fields=["resource", "name", "location"],
                condition=Q(resource__isnull=False),
                name="consumed_parameter_unique_in_resource",
            ),
            models.UniqueConstraint(
                fields=["operation", "name", "location"],
                condition=Q(operation__isnull=False),
                name="consumed_parameter_unique_in_operation",
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


class Expose(DocumentPart):
    """An ``exposes`` entry: a REST API, an MCP server, or a stored skill/control adapter."""

    class Type(models.TextChoices):
        REST = "rest", "REST"
        MCP = "mcp", "MCP"
        SKILL = "skill", "skill"
        CONTROL = "control", "control"

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="exposes")
    type = models.CharField(max_length=16, choices=Type.choices)
    namespace = models.CharField(
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text="Unique across the whole registry: it is the URL prefix (/rest/<ns>, /mcp/<ns>).",
    )
    transport = _char("transport", 16, help_text="MCP: http (default) or stdio.")
    address = _char("address")
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    description = _text("description", help_text="For MCP, the server instructions.")
    authentication = _json("authentication")

    class Meta(DocumentPart.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.type}:{self.namespace or '-'}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.type != self.Type.CONTROL and not self.namespace:
            errors["namespace"] = f"A {self.type} expose needs a namespace."
        if self.type == self.Type.MCP and self.transport not in (None, "", "http", "stdio"):
            errors["transport"] = "An MCP transport is http or stdio."
        if errors:
            raise ValidationError(errors)

    def validate_unique(self, exclude=None) -> None:
        # Name the capability that owns a namespace, not just "already exists".
        if self.namespace and (exclude is None or "namespace" not in exclude):
            owner = (
                Expose.objects.filter(namespace=self.namespace)
                .exclude(pk=self.pk)
                .select_related("capability")
                .first()
            )
            if owner is not None:
                raise ValidationError(
                    {
                        "namespace": f"Namespace {self.namespace!r} is owned by capability "
                        f"{owner.capability.name!r}: expose namespaces are unique across the "
                        "registry."
                    }
                )
        super().validate_unique(exclude=exclude)


class ExposedResource(DocumentPart):
    """A path of a REST expose."""

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="rest_resources")
    path = models.CharField(max_length=2048, help_text="Served at /rest/<namespace><path>.")
    name = _char("name")
    label = _char("label", 500)
    description = _text("description")
    forward = _json("forward", help_text="{targetNamespace, trustedHeaders}: proxy the path.")

    class Meta(DocumentPart.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["expose", "name"],
                condition=Q(name__isnull=False),
                name="exposed_resource_name_unique",
            )
        ]

    def __str__(self) -> str:
        return self.path


class ExposedOperation(CallerMixin, DocumentPart):
    """A method on a REST path: calls a consumed operation, runs steps, reuses a ref, or mocks."""

    capability_id_path = "resource.expose.capability_id"

    resource = models.ForeignKey(
        ExposedResource, on_delete=models.CASCADE, related_name="operations"
    )
    method = models.CharField(max_length=8, choices=Method.choices)
    name = _char("name")
    label = _char("label", 500)
    description = _text("description")
    call = _call("exposed_operations")
    ref = _ref("exposed_operations")
    with_values = _json("with", db_column="with_values", help_text="Parameter name → value.")
    output_parameters = _json("output parameters")
    steps = _json("steps")
    mappings = _json("mappings")

    class Meta(DocumentPart.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "name"],
                condition=Q(name__isnull=False),
                name="exposed_operation_name_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.name or ''}".strip()


class ExposedParameter(DocumentPart):
    """A declared input parameter of a REST resource or operation."""

    resource = models.ForeignKey(
        ExposedResource,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parameters",
    )
    operation = models.ForeignKey(
        ExposedOperation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parameters",
    )
    name = models.CharField(max_length=255)
    location = _char("in", 16)
    type = _char("type", 64)
    description = _text("description")
    pattern = _char("pattern", 1024)
    value = _json("value", help_text="A value starting with $ is a JSONPath into the body.")
    required = models.BooleanField(null=True, blank=True)

    class Meta(DocumentPart.Meta):
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(resource__isnull=False, operation__isnull=True)
                    | Q(resource__isnull=True, operation__isnull=False)
                ),
                name="exposed_parameter_one_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tool(CallerMixin, DocumentPart):
    """An MCP tool."""

    capability_id_path = "expose.capability_id"

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="tools")
    name = models.CharField(max_length=255)
    label = _char("label", 500, help_text="Shown to clients as the tool's title.")
    description = _text("description")
    call = _call("tools")
    ref = _ref("tools")
    with_values = _json("with", db_column="with_values")
    steps = _json("steps")
    mappings = _json("mappings")
    output_parameters = _json("output parameters")
    read_only_hint = models.BooleanField("readOnly hint", null=True, blank=True)
    destructive_hint = models.BooleanField("destructive hint", null=True, blank=True)
    idempotent_hint = models.BooleanField("idempotent hint", null=True, blank=True)
    open_world_hint = models.BooleanField("openWorld hint", null=True, blank=True)

    class Meta(DocumentPart.Meta):
        constraints = [models.UniqueConstraint(fields=["expose", "name"], name="tool_name_unique")]

    def __str__(self) -> str:
        return self.name


class ToolParameter(DocumentPart):
    """An input parameter of an MCP tool or an aggregate function."""

    tool = models.ForeignKey(
        Tool, on_delete=models.CASCADE, null=True, blank=True, related_name="parameters"
    )
    function = models.ForeignKey(
        "AggregateFunction",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parameters",
    )
    name = models.CharField(max_length=255)
    type = _char("type", 64)
    description = _text("description")
    required = models.BooleanField(null=True, blank=True, help_text="Empty means true.")

    class Meta(DocumentPart.Meta):
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(tool__isnull=False, function__isnull=True)
                    | Q(tool__isnull=True, function__isnull=False)
                ),
                name="tool_parameter_one_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class McpResource(CallerMixin, DocumentPart):
    """A resource of an MCP expose: read through a call, or from a file location."""

    capability_id_path = "expose.capability_id"

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="mcp_resources")
    name = models.CharField(max_length=255)
    label = _char("label", 500)
    uri = _char("URI", 2048)
    description = _text("description")
    mime_type = _char("MIME type", 255)
    call = _call("mcp_resources")
    with_values = _json("with", db_column="with_values")
    steps = _json("steps")
    mappings = _json("mappings")
    output_parameters = _json("output parameters")
    location = _char("location", 2048)

    class Meta(DocumentPart.Meta):
        verbose_name = "MCP resource"
        constraints = [
            models.UniqueConstraint(fields=["expose", "name"], name="mcp_resource_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class McpPrompt(DocumentPart):
    """A prompt of an MCP expose."""

    expose = models.ForeignKey(Expose, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=255)
    label = _char("label", 500)
    description = _text("description")
    arguments = _json("arguments", help_text="[{name, description, required}]")
    template = _json("template", help_text="[{role, content}] with {{argument}} placeholders.")
    location = _char("location", 2048)

    class Meta(DocumentPart.Meta):
        verbose_name = "MCP prompt"
        constraints = [
            models.UniqueConstraint(fields=["expose", "name"], name="mcp_prompt_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Aggregate(DocumentPart):
    """An ``aggregates`` entry: reusable functions that operations and tools ``ref``."""

    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="aggregates")
    label = _char("label", 500)
    namespace = models.CharField(max_length=255)

    class Meta(DocumentPart.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["capability", "namespace"], name="aggregate_namespace_unique"
            )
        ]

    def __str__(self) -> str:
        return self.namespace


class AggregateFunction(CallerMixin, DocumentPart):
    """A function of an aggregate."""

    capability_id_path = "aggregate.capability_id"

    aggregate = models.ForeignKey(Aggregate, on_delete=models.CASCADE, related_name="functions")
    name = models.CharField(max_length=255)
    description = _text("description")
    semantics = _json("semantics", help_text="{safe, idempotent, cacheable}")
    call = _call("aggregate_functions")
    with_values = _json("with", db_column="with_values")
    steps = _json("steps")
    mappings = _json("mappings")
    output_parameters = _json("output parameters")

    class Meta(DocumentPart.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate", "name"], name="aggregate_function_name_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.aggregate.namespace}.{self.name}"


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


class Job(models.Model):
    """An upstream call run later by a Celery worker: its request, status and result.

    The caller gets the job at once (``202 Accepted``) and reads it at
    ``/api/jobs/<id>``. ``params`` holds ``{"arguments": {...}}``: the call's
    parameters as the synchronous call resolves them (``runtime.arguments_of``), never
    a header, a raw body or a credential; ``fingerprint`` identifies that request for
    its ``Idempotency-Key``; ``result`` holds what the synchronous call would have
    returned, capped by ``REGISTRY_JOB_RESULT_MAX_BYTES``.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Kind(models.TextChoices):
        REST = "rest", "REST operation"
        TOOL = "tool", "MCP tool"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    capability = models.ForeignKey(
        Capability, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    namespace = models.CharField(max_length=255, help_text="The expose namespace.")
    target = models.CharField(
        max_length=2048, help_text="REST: the resource path as declared; MCP: the tool name."
    )
    method = models.CharField(max_length=8, blank=True, help_text="REST: the HTTP method.")
    caller = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="Who created the job (a hash of the caller's credential; empty: anonymous).",
    )
    idempotency_key = models.CharField(max_length=255, blank=True, db_index=True)
    params = DocumentJSONField(default=dict, blank=True)
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the method, target and arguments: the request an "
        "Idempotency-Key names (empty: stored before fingerprints existed).",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While running: until when the worker on it holds the job.",
    )
    not_before = models.DateTimeField(
        null=True, blank=True, help_text="While queued for a retry: its earliest start."
    )
    upstream_status = models.PositiveIntegerField(null=True, blank=True)
    result = DocumentJSONField(null=True, blank=True)
    result_content_type = models.CharField(max_length=255, blank=True)
    error = DocumentJSONField(null=True, blank=True, help_text="problem+json")

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            # One job per caller, Idempotency-Key and operation: concurrent
            # resubmissions find the job instead of making a second one.
            models.UniqueConstraint(
                fields=["caller", "idempotency_key", "namespace", "target", "method"],
                condition=~models.Q(idempotency_key=""),
                name="job_idempotency_key_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace} {self.method} {self.target} ({self.status})"


RATE_VALIDATOR = RegexValidator(
    r"^(off|[1-9][0-9]*/(second|minute|hour|day))$",
    "A rate is N/second, N/minute, N/hour or N/day (e.g. 600/minute), or off.",
)


class ClientKey(models.Model):
    """A client of the REST and MCP surfaces: a key it presents, and what it may call.

    Only the key's visible ``prefix`` and a keyed hash (HMAC-SHA256, ``clients.digest``)
    are stored; the key itself is shown once, when it is made. A key without grants
    may call nothing. ``rate_limit`` overrides ``REGISTRY_RATE_LIMIT`` for this key.
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[NAME_VALIDATOR],
        help_text="Who this key is for, as commands and the admin name it.",
    )
    owner = models.CharField(max_length=200, blank=True, help_text="A person or team to ask.")
    description = models.TextField(blank=True)
    prefix = models.CharField(
        max_length=16,
        unique=True,
        editable=False,
        help_text="The key's visible start (crk_ and 8 characters): tells keys apart.",
    )
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Recorded at most once a minute."
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        validators=[RATE_VALIDATOR],
        help_text="Calls this key may make (e.g. 600/minute, or off); empty: REGISTRY_RATE_LIMIT.",
    )

    class Meta:
        ordering = ("name",)
        verbose_name = "client key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ClientGrant(models.Model):
    """What one client key may call: a whole capability, or one name in it.

    ``target`` is what the client calls (an exposed REST operation's name, an MCP
    tool's, resource's or prompt's name), never the consumed operation behind it; empty
    grants the whole capability. ``rate_limit`` (optional) caps this key's calls to
    what the grant covers, besides the key's own limit.
    """

    key = models.ForeignKey(ClientKey, on_delete=models.CASCADE, related_name="grants")
    capability = models.CharField(
        max_length=200, help_text="The capability's name in the registry."
    )
    target = models.CharField(
        max_length=200,
        blank=True,
        help_text="An exposed operation's or tool's name; empty: the whole capability.",
    )
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        validators=[RATE_VALIDATOR],
        help_text="Calls this key may make to what this grant covers (e.g. 60/minute).",
    )

    class Meta:
        ordering = ("capability", "target")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "capability", "target"], name="client_grant_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.capability}:{self.target}" if self.target else self.capability


class RateCounter(models.Model):
    """One fixed window of a rate limit, when no Redis is configured (``ratelimit``)."""

    bucket = models.CharField(max_length=255)
    window = models.BigIntegerField(help_text="The window's start, in seconds since the epoch.")
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket", "window"], name="rate_counter_window_once")
        ]

    def __str__(self) -> str:
        return f"{self.bucket}@{self.window}: {self.count}"
