"""The shape of a capability document, as data: which keys map to which model fields.

One table serves three readers, so they cannot drift apart:

- ``specs`` walks it to check that a document has the structure the registry needs
  (required keys, value types, allowed values, names unique among siblings);
- ``writer`` (the importer's write phase) walks it to turn a document into model instances;
- ``exporter`` walks it to turn model instances back into a document, with keys
  in the order the official schema lists them.

Keys a part does not list are kept as written in the model's ``extra`` field, so an
export is semantically equal to what was imported.

The table is written in the words of ``vocabulary`` (``Field``, ``Children``,
``Group``, ``Part``); ``PARTS`` indexes it by part name.

Pure data: must not import Django, httpx or the MCP SDK; imports only ``vocabulary``.
"""

from __future__ import annotations

from capabilities_app.store.vocabulary import (
    CONSUMES_TYPES,
    EXPOSE_TYPES,
    HTTP_METHODS,
    PARAMETER_LOCATIONS,
    Children,
    Field,
    Group,
    Part,
)

# The parts the rest of the store names directly; every part is in ``PARTS``.
__all__ = [
    "CAPABILITY",
    "CONSUMES",
    "EXPOSE",
    "GROUP_ORDER",
    "IMPORTED_CONSUMES_KEYS",
    "PARTS",
]


def _params(parent_attr: str, part: str) -> Children:
    return Children("inputParameters", part, parent_attr)


PARTS: dict[str, Part] = {}


def _register(part: Part) -> Part:
    PARTS[part.name] = part
    return part


CAPABILITY_TAG = _register(
    Part("capability_tag", "CapabilityTag", (), (), capability_paths=("capability",))
)
BIND_KEY = _register(Part("bind_key", "BindKey", (), (), capability_paths=("bind__capability",)))
BIND = _register(
    Part(
        "bind",
        "Bind",
        ("namespace", "description", "location", "keys"),
        (
            Field("namespace", "namespace", required=True),
            Field("description", "description"),
            Field("location", "location"),
            Children("keys", "bind_key", "bind", mapping=("variable", "provider_key")),
        ),
        capability_paths=("capability",),
    )
)

_CONSUMED_PARAMETER_PATHS = (
    "consumes__capability",
    "resource__consumes__capability",
    "operation__resource__consumes__capability",
)
CONSUMED_PARAMETER = _register(
    Part(
        "consumed_parameter",
        "ConsumedParameter",
        ("name", "in", "value", "type", "required", "description"),
        (
            Field("name", "name", required=True),
            Field("in", "location", required=True, choices=PARAMETER_LOCATIONS),
            Field("value", "value", "scalar"),
            Field("type", "type"),
            Field("required", "required", "bool"),
            Field("description", "description"),
        ),
        unique=("name", "in"),
        capability_paths=_CONSUMED_PARAMETER_PATHS,
    )
)
CONSUMED_OUTPUT_PARAMETER = _register(
    Part(
        "consumed_output_parameter",
        "ConsumedOutputParameter",
        ("name", "type", "value"),
        (
            Field("name", "name"),
            Field("type", "type"),
            Field("value", "value"),
        ),
        capability_paths=("operation__resource__consumes__capability",),
    )
)
CONSUMED_OPERATION = _register(
    Part(
        "consumed_operation",
        "ConsumedOperation",
        (
            "name",
            "label",
            "description",
            "method",
            "inputParameters",
            "outputRawFormat",
            "outputSchema",
            "outputParameters",
            "body",
        ),
        (
            Field("name", "name", required=True),
            Field("label", "label"),
            Field("description", "description"),
            Field("method", "method", required=True, choices=HTTP_METHODS),
            _params("operation", "consumed_parameter"),
            Field("outputRawFormat", "output_raw_format"),
            Field("outputSchema", "output_schema", "json"),
            Children("outputParameters", "consumed_output_parameter", "operation"),
            Field("body", "body", "json"),
        ),
        unique=("name",),
        capability_paths=("resource__consumes__capability",),
    )
)
CONSUMED_RESOURCE = _register(
    Part(
        "consumed_resource",
        "ConsumedResource",
        ("name", "label", "description", "path", "inputParameters", "operations"),
        (
            Field("name", "name", required=True),
            Field("label", "label"),
            Field("description", "description"),
            Field("path", "path", required=True),
            _params("resource", "consumed_parameter"),
            Children("operations", "consumed_operation", "resource"),
        ),
        unique=("name",),
        capability_paths=("consumes__capability",),
    )
)
CONSUMES = _register(
    Part(
        "consumes",
        "Consumes",
        (
            "namespace",
            "type",
            "description",
            "baseUri",
            "inputParameters",
            "authentication",
            "resources",
        ),
        (
            Field("namespace", "namespace", required=True),
            Field("type", "type", required=True, choices=CONSUMES_TYPES),
            Field("description", "description"),
            Field("baseUri", "base_uri"),
            _params("consumes", "consumed_parameter"),
            Field("authentication", "authentication", "json"),
            Children("resources", "consumed_resource", "consumes"),
        ),
        capability_paths=("capability",),
    )
)
# The short form that takes a consumes block from another document.
IMPORTED_CONSUMES_KEYS = ("location", "import", "as", "description")

EXPOSED_PARAMETER = _register(
    Part(
        "exposed_parameter",
        "ExposedParameter",
        ("name", "in", "type", "description", "pattern", "value", "required"),
        (
            Field("name", "name", required=True),
            Field("in", "location"),
            Field("type", "type"),
            Field("description", "description"),
            Field("pattern", "pattern"),
            Field("value", "value", "scalar"),
            Field("required", "required", "bool"),
        ),
        unique=("name", "in"),
        capability_paths=(
            "resource__expose__capability",
            "operation__resource__expose__capability",
        ),
    )
)
EXPOSED_OPERATION = _register(
    Part(
        "exposed_operation",
        "ExposedOperation",
        (
            "name",
            "label",
            "description",
            "method",
            "inputParameters",
            "ref",
            "call",
            "with",
            "outputParameters",
            "steps",
            "mappings",
        ),
        (
            Field("name", "name"),
            Field("label", "label"),
            Field("description", "description"),
            Field("method", "method", required=True, choices=HTTP_METHODS),
            _params("operation", "exposed_parameter"),
            Field("ref", "ref", "ref"),
            Field("call", "call", "call"),
            Field("with", "with_values", "json"),
            Field("outputParameters", "output_parameters", "json"),
            Field("steps", "steps", "json"),
            Field("mappings", "mappings", "json"),
        ),
        unique=("name",),
        capability_paths=("resource__expose__capability",),
    )
)
EXPOSED_RESOURCE = _register(
    Part(
        "exposed_resource",
        "ExposedResource",
        ("label", "description", "path", "name", "inputParameters", "operations", "forward"),
        (
            Field("label", "label"),
            Field("description", "description"),
            Field("path", "path", required=True),
            Field("name", "name"),
            _params("resource", "exposed_parameter"),
            Children("operations", "exposed_operation", "resource"),
            Field("forward", "forward", "json"),
        ),
        unique=("name",),
        capability_paths=("expose__capability",),
    )
)
TOOL_PARAMETER = _register(
    Part(
        "tool_parameter",
        "ToolParameter",
        ("name", "type", "description", "required"),
        (
            Field("name", "name", required=True),
            Field("type", "type"),
            Field("description", "description"),
            Field("required", "required", "bool"),
        ),
        unique=("name",),
        capability_paths=("tool__expose__capability", "function__aggregate__capability"),
    )
)
TOOL = _register(
    Part(
        "tool",
        "Tool",
        (
            "name",
            "label",
            "description",
            "inputParameters",
            "ref",
            "call",
            "with",
            "steps",
            "mappings",
            "hints",
            "outputParameters",
        ),
        (
            Field("name", "name", required=True),
            Field("label", "label"),
            Field("description", "description"),
            _params("tool", "tool_parameter"),
            Field("ref", "ref", "ref"),
            Field("call", "call", "call"),
            Field("with", "with_values", "json"),
            Field("steps", "steps", "json"),
            Field("mappings", "mappings", "json"),
            Group(
                "hints",
                (
                    Field("readOnly", "read_only_hint", "bool"),
                    Field("destructive", "destructive_hint", "bool"),
                    Field("idempotent", "idempotent_hint", "bool"),
                    Field("openWorld", "open_world_hint", "bool"),
                ),
            ),
            Field("outputParameters", "output_parameters", "json"),
        ),
        unique=("name",),
        capability_paths=("expose__capability",),
    )
)
MCP_RESOURCE = _register(
    Part(
        "mcp_resource",
        "McpResource",
        (
            "name",
            "label",
            "uri",
            "description",
            "mimeType",
            "call",
            "with",
            "steps",
            "mappings",
            "outputParameters",
            "location",
        ),
        (
            Field("name", "name", required=True),
            Field("label", "label"),
            Field("uri", "uri"),
            Field("description", "description"),
            Field("mimeType", "mime_type"),
            Field("call", "call", "call"),
            Field("with", "with_values", "json"),
            Field("steps", "steps", "json"),
            Field("mappings", "mappings", "json"),
            Field("outputParameters", "output_parameters", "json"),
            Field("location", "location"),
        ),
        unique=("name",),
        capability_paths=("expose__capability",),
    )
)
MCP_PROMPT = _register(
    Part(
        "mcp_prompt",
        "McpPrompt",
        ("name", "label", "description", "arguments", "template", "location"),
        (
            Field("name", "name", required=True),
            Field("label", "label"),
            Field("description", "description"),
            Field("arguments", "arguments", "json"),
            Field("template", "template", "json"),
            Field("location", "location"),
        ),
        unique=("name",),
        capability_paths=("expose__capability",),
    )
)
EXPOSE = _register(
    Part(
        "expose",
        "Expose",
        (
            "type",
            "transport",
            "address",
            "port",
            "namespace",
            "description",
            "authentication",
            "tools",
            "resources",
            "prompts",
            "skills",
            "management",
            "observability",
        ),
        (
            Field("type", "type", required=True, choices=EXPOSE_TYPES),
            Field("transport", "transport"),
            Field("address", "address"),
            Field("port", "port", "int"),
            Field("namespace", "namespace"),
            Field("description", "description"),
            Field("authentication", "authentication", "json"),
            Children("tools", "tool", "expose", when=("mcp",)),
            Children("resources", "exposed_resource", "expose", when=("rest",)),
            Children("resources", "mcp_resource", "expose", when=("mcp",)),
            Children("prompts", "mcp_prompt", "expose", when=("mcp",)),
        ),
        capability_paths=("capability",),
    )
)
AGGREGATE_FUNCTION = _register(
    Part(
        "aggregate_function",
        "AggregateFunction",
        (
            "name",
            "description",
            "semantics",
            "inputParameters",
            "call",
            "with",
            "steps",
            "mappings",
            "outputParameters",
        ),
        (
            Field("name", "name", required=True),
            Field("description", "description"),
            Field("semantics", "semantics", "json"),
            _params("function", "tool_parameter"),
            Field("call", "call", "call"),
            Field("with", "with_values", "json"),
            Field("steps", "steps", "json"),
            Field("mappings", "mappings", "json"),
            Field("outputParameters", "output_parameters", "json"),
        ),
        unique=("name",),
        capability_paths=("aggregate__capability",),
    )
)
AGGREGATE = _register(
    Part(
        "aggregate",
        "Aggregate",
        ("label", "namespace", "functions"),
        (
            Field("label", "label"),
            Field("namespace", "namespace", required=True),
            Children("functions", "aggregate_function", "aggregate"),
        ),
        unique=("namespace",),
        capability_paths=("capability",),
    )
)
CAPABILITY = _register(
    Part(
        "capability",
        "Capability",
        ("naftiko", "info", "consumes", "binds", "capability"),
        (
            Field("naftiko", "spec_version", required=True),
            Group(
                "info",
                (
                    Field("label", "label"),
                    Field("description", "description"),
                    Children("tags", "capability_tag", "capability", scalar_attr="name"),
                    Field("created", "created"),
                    Field("modified", "modified"),
                    Field("stakeholders", "stakeholders", "json"),
                ),
            ),
            Children("consumes", "consumes", "capability", fixed=(("scope", "root"),)),
            Children("binds", "bind", "capability", fixed=(("scope", "root"),)),
            Group(
                "capability",
                (
                    Children("binds", "bind", "capability", fixed=(("scope", "capability"),)),
                    Children("exposes", "expose", "capability"),
                    Children(
                        "consumes", "consumes", "capability", fixed=(("scope", "capability"),)
                    ),
                    Children("aggregates", "aggregate", "capability"),
                ),
            ),
        ),
    )
)

# Key order inside groups, as the schema lists them.
GROUP_ORDER = {
    "info": ("label", "description", "tags", "created", "modified", "stakeholders"),
    "capability": ("binds", "exposes", "consumes", "aggregates"),
    "hints": ("readOnly", "destructive", "idempotent", "openWorld"),
}
