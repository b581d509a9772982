"""The capability store: every part of a Naftiko capability document as a model.

The models follow the list-based ``naftiko`` 1.0.0-alpha1/alpha2 format part by part
(``layout`` says which key maps to which field), normalised so that an admin can edit
each part on its own page. Optional keys are nullable fields: ``NULL`` means the key
is absent, ``""`` means it was written empty. Keys the format does not define are
kept as written in each model's ``extra`` field, so an export gives back what was
imported.

One module per part family: ``parts`` (shared bases and helpers), ``documents``
(capability, tags, binds, the version stamp), ``consumes``, ``exposes`` (REST and MCP),
``aggregates``, ``jobs``, ``clients`` (keys, grants, rate counters). Import models
from this package, not from those modules.

Models do no network I/O and know nothing of YAML: they import Django, ``store.fields``
and ``store.vocabulary``, nothing else of the app.
"""

from capabilities_app.store.models.aggregates import Aggregate, AggregateFunction
from capabilities_app.store.models.clients import (
    RATE_VALIDATOR,
    ClientGrant,
    ClientKey,
    RateCounter,
)
from capabilities_app.store.models.consumes import (
    ConsumedOperation,
    ConsumedOutputParameter,
    ConsumedParameter,
    ConsumedResource,
    Consumes,
)
from capabilities_app.store.models.documents import (
    Bind,
    BindKey,
    Capability,
    CapabilityTag,
    RegistryState,
)
from capabilities_app.store.models.exposes import (
    Expose,
    ExposedOperation,
    ExposedParameter,
    ExposedResource,
    McpPrompt,
    McpResource,
    Tool,
    ToolParameter,
)
from capabilities_app.store.models.jobs import Job
from capabilities_app.store.models.parts import (
    AUTHENTICATION_TYPES,
    BIND_VARIABLE_VALIDATOR,
    NAME_VALIDATOR,
    CallerMixin,
    CallingPart,
    DocumentPart,
    Method,
    ParameterLocation,
    Scope,
)

__all__ = [
    "AUTHENTICATION_TYPES",
    "BIND_VARIABLE_VALIDATOR",
    "NAME_VALIDATOR",
    "RATE_VALIDATOR",
    "Aggregate",
    "AggregateFunction",
    "Bind",
    "BindKey",
    "CallerMixin",
    "CallingPart",
    "Capability",
    "CapabilityTag",
    "ClientGrant",
    "ClientKey",
    "ConsumedOperation",
    "ConsumedOutputParameter",
    "ConsumedParameter",
    "ConsumedResource",
    "Consumes",
    "DocumentPart",
    "Expose",
    "ExposedOperation",
    "ExposedParameter",
    "ExposedResource",
    "Job",
    "McpPrompt",
    "McpResource",
    "Method",
    "ParameterLocation",
    "RateCounter",
    "RegistryState",
    "Scope",
    "Tool",
    "ToolParameter",
]
