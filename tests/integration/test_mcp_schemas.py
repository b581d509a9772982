"""Tool definitions (RUNTIME-CONTRACT §6): input schemas, annotations, argument checks."""

from __future__ import annotations

import pytest

from capabilities_app.mcp import schemas
from capabilities_app.runtime.catalog import get_catalog
from tests.conftest import CORPUS, PREFECT
from tests.integration.rest.conftest import load

pytestmark = pytest.mark.django_db

FRAMEWORK = CORPUS / "naftiko__framework"


def tool(namespace: str, name: str):
    return get_catalog().mcp[namespace].tools[name]


class TestInputSchemas:
    def test_declared_parameters_are_required_unless_said_otherwise(self):
        load(FRAMEWORK / "tutorial" / "step-6-shipyard-write-operations.yml")
        schema = schemas.input_schema(tool("shipyard-tools", "create-voyage"))
        assert schema["required"] == [
            "shipImo",
            "departurePort",
            "arrivalPort",
            "departureDate",
            "arrivalDate",
            "crewIds",
        ]
        assert schema["properties"]["cargoIds"] == {
            "type": "array",
            "description": "List of cargo item IDs (optional)",
        }

    def test_a_ref_tool_takes_its_function_parameters(self):
        load(FRAMEWORK / "tutorial" / "step-9-shipyard-aggregates.yml")
        schema = schemas.input_schema(tool("shipyard-tools", "get-ship-with-crew"))
        assert schema == {
            "type": "object",
            "properties": {"imo": {"type": "string", "description": "IMO number of the ship"}},
            "required": ["imo"],
            "additionalProperties": False,
        }

    def test_derived_from_with_references_and_consumed_parameters(self):
        load(PREFECT)
        update = schemas.input_schema(tool("prefect-account-billing-mcp", "update-slots"))
        assert update == {
            "type": "object",
            "properties": {"account_id": {"type": "string"}, "body": {"type": "object"}},
            "required": ["account_id"],  # the seed marks this body optional
            "additionalProperties": False,
        }
        subscribe = schemas.input_schema(tool("prefect-account-billing-mcp", "get-checkout-link"))
        assert subscribe["required"] == ["account_id", "body"]

    def test_template_values_become_optional_string_arguments(self):
        load(FRAMEWORK / "mcp-resources-prompts-capability.yaml")
        schema = schemas.input_schema(tool("test-mcp-resources-prompts", "query-database"))
        # with: {datasource_id: literal}; the consumed path variable is provided, nothing is asked.
        assert schema == {"type": "object", "properties": {}, "additionalProperties": False}


class TestAnnotations:
    def test_hints_as_given_and_no_more(self):
        load(FRAMEWORK / "mcp-hints-capability.yaml")
        assert schemas.annotations(tool("hints-mcp", "read-data").hints) == {
            "readOnlyHint": True,
            "openWorldHint": True,
        }
        assert schemas.annotations(tool("hints-mcp", "delete-record").hints) == {
            "readOnlyHint": False,
            "destructiveHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
        }
        assert schemas.annotations(tool("hints-mcp", "no-hints-tool").hints) == {}

    def test_a_ref_tool_without_hints_takes_them_from_the_function_semantics(self):
        load(FRAMEWORK / "tutorial" / "step-9-shipyard-aggregates.yml")
        assert schemas.annotations(tool("shipyard-tools", "get-ship-with-crew").hints) == {
            "readOnlyHint": True,
            "destructiveHint": False,
            "idempotentHint": True,
        }


SCHEMA = {
    "type": "object",
    "properties": {"imo": {"type": "string"}, "limit": {"type": "integer"}},
    "required": ["imo"],
}


class TestArguments:
    def test_valid_arguments(self):
        assert schemas.argument_errors(SCHEMA, {"imo": "X", "limit": 3}) == []

    def test_missing_and_mistyped_arguments(self):
        errors = schemas.argument_errors(SCHEMA, {"limit": "three"})
        assert any("imo" in e and "required" in e for e in errors)
        assert any(e.startswith("limit: ") for e in errors)


DERIVED = """
naftiko: 1.0.0-alpha2
info: {label: Derived, description: Tools whose arguments come from steps, a function, a mock.}
binds:
- namespace: env
  keys: {API_TOKEN: DERIVED_TOKEN}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://up.example
    resources:
    - name: ships
      path: /ships/{imo}
      operations:
      - name: get-ship
        method: GET
        inputParameters:
        - {name: imo, in: path, type: string, description: IMO number}
        - {name: X-Token, in: header, value: '{{API_TOKEN}}'}
        - {name: X-Trace, in: header, value: 'trace-{{trace}}'}
    - name: crew
      path: /crew
      operations:
      - name: add-crew
        method: POST
        body: '{"name": "{{name}}", "ship": "{{ship}}", "token": "{{API_TOKEN}}"}'
  aggregates:
  - namespace: fleet
    functions:
    - name: ship
      description: A ship.
      call: up.get-ship
      with: {imo: fleet.imo}
  exposes:
  - type: mcp
    namespace: derived
    port: 9090
    description: Derived schemas.
    tools:
    - name: ship-in-steps
      description: A ship, in one step.
      steps:
      - {type: call, name: found, call: up.get-ship, with: {imo: tools.imo}}
    - name: ship-by-ref
      description: A ship, through the function.
      ref: fleet.ship
    - name: add-crew
      description: Add crew; the body template reads name and ship.
      call: up.add-crew
      with: {ship: tools.ship_id}
    - name: greet
      description: A mock.
      outputParameters:
      - {name: text, type: string, value: 'Hello {{who}}, {{env.API_TOKEN}}'}
"""


class TestClosedSchemas:
    """Issue 9 point 1: every schema lists what the tool reads, and nothing else passes."""

    def test_every_derived_schema_is_closed_and_lists_what_the_tool_reads(self):
        load(DERIVED, name="derived")
        expected = {
            "ship-in-steps": ({"imo", "trace"}, ["imo"]),
            "ship-by-ref": ({"imo", "trace"}, ["imo"]),
            "add-crew": ({"ship_id", "name"}, []),
            "greet": ({"who"}, []),
        }
        for name, (properties, required) in expected.items():
            schema = schemas.input_schema(tool("derived", name))
            assert schema["additionalProperties"] is False, name
            assert set(schema["properties"]) == properties, name
            assert schema.get("required", []) == required, name

    def test_an_argument_the_schema_does_not_list_is_an_error(self):
        load(DERIVED, name="derived")
        schema = schemas.input_schema(tool("derived", "ship-in-steps"))
        assert schemas.argument_errors(schema, {"imo": "1"}) == []
        errors = schemas.argument_errors(schema, {"imo": "1", "API_TOKEN": "forged"})
        assert errors and "API_TOKEN" in errors[0]
