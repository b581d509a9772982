"""Issue 13 point 2: the parts of a generated OpenAPI document, without a database."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from capabilities_app.api import openapi_schemas as schemas
from capabilities_app.api.openapi import _openapi_path
from capabilities_app.runtime import mapping
from capabilities_app.runtime.catalog import InputParam, Route
from capabilities_app.runtime.routing import route_regex
from capabilities_app.store.specs.semantics import _hides

SHIP = [
    {
        "type": "object",
        "properties": {
            "imo": {"type": "string", "mapping": "$.imo_number"},
            "tonnage": {"type": "number", "mapping": "$.gross_tonnage"},
        },
    }
]


@pytest.mark.parametrize(
    ("outputs", "upstream"),
    [
        (SHIP, {"imo_number": "IMO1", "gross_tonnage": 5.5}),
        (SHIP, {"imo_number": "IMO1"}),  # a field the upstream lacks maps to null
        (SHIP, None),
        ([{"type": "array", "mapping": "$.", "items": SHIP[0]}], [{"imo_number": "A"}, {}]),
        ([{"name": "a", "type": "integer", "mapping": "$.x"}, {"name": "b", "const": 3}], {"x": 1}),
        (
            [{"type": "array", "mapping": "$.rows", "items": [{"name": "id"}]}],
            {"rows": [{"id": 1}]},
        ),
    ],
)
def test_the_output_schema_describes_what_mapping_makes(outputs, upstream):
    """Issue 13 point 2: the response schema holds the answer runtime.mapping builds."""
    answer = mapping.map_outputs(outputs, upstream)
    Draft202012Validator(schemas.output_schema(outputs)).validate(answer)


def test_the_output_schema_is_not_anything():
    schema = schemas.output_schema(SHIP)
    assert not Draft202012Validator(schema).is_valid({"imo": 3, "tonnage": 1})
    assert not Draft202012Validator(schema).is_valid({"imo": "x"})  # tonnage is always there


def test_path_values_dot_and_dotdot_are_excluded():
    """The surface answers 400 to `.` and `..` in a path; the schema says so."""
    schema = schemas.path_schema(InputParam("imo", "path", "string"))
    validator = Draft202012Validator(schema)
    assert validator.is_valid("IMO1")
    assert not validator.is_valid(".") and not validator.is_valid("..")
    typed = schemas.path_schema(InputParam("n", "path", "integer"))
    assert typed == {"type": "integer"}


def test_request_bodies():
    one = schemas.request_body(
        [InputParam("payload", "body", "object", "the order")],
        reads_body=False,
        consumed=None,
        body_fields=[],
        required=True,
    )
    assert one == {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "the order"}}},
    }
    several = schemas.request_body(
        [InputParam("a", "body", "string", required=True), InputParam("b", "body", "integer")],
        reads_body=False,
        consumed=None,
        body_fields=[],
        required=True,
    )
    schema = several["content"]["application/json"]["schema"]
    assert schema["required"] == ["a"] and set(schema["properties"]) == {"a", "b"}
    assert (
        schemas.request_body([], reads_body=False, consumed=None, body_fields=[], required=False)
        is None
    )


def test_the_exposes_own_authentication_never_shows_its_value():
    scheme = schemas.expose_scheme({"type": "bearer", "token": "{{SECRET_TOKEN}}"})
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "SECRET_TOKEN" not in repr(scheme)
    query = schemas.expose_scheme(
        {"type": "apikey", "key": "k", "value": "v", "placement": "query"}
    )
    assert (query["in"], query["name"]) == ("query", "k") and "'v'" not in repr(query)
    refused = schemas.expose_scheme({"type": "digest"})
    assert "refuses every caller" in refused["description"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/ships/{{imo}}", "/ships/{imo}"),
        ("ships/{ imo }/", "/ships/{imo}"),
        ("/", "/"),
        ("", "/"),
    ],
)
def test_paths_are_openapi_templates(path, expected):
    regex, variables = route_regex(path, forward=False)
    assert _openapi_path(Route("ns", path, regex, variables)) == expected


@pytest.mark.parametrize(
    ("path", "forward", "hidden"),
    [
        ("/openapi.json", False, ["/openapi.json"]),
        ("/{file}", False, ["/openapi.json", "/openapi.yaml", "/docs"]),
        ("/docs/", False, ["/docs"]),
        ("/ships", False, []),
        ("/", True, ["/openapi.json", "/openapi.yaml", "/docs"]),  # a forward of everything
        ("/docs/{page}", False, []),
    ],
)
def test_the_import_knows_which_paths_hide_the_generated_documents(path, forward, hidden):
    """Issue 13 point 2: the check the importer warns with matches what routing serves."""
    assert _hides(path, forward=forward) == hidden
    regex, _ = route_regex(path, forward=forward)
    assert [p for p in ("/openapi.json", "/openapi.yaml", "/docs") if re.fullmatch(regex, p)] == (
        hidden
    )
