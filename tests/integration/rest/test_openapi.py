"""Issue 13 point 2: the OpenAPI 3.1 document of every REST expose, its Swagger page, and
schemathesis against a seed's document with the upstream pointed at a test server."""

from __future__ import annotations

import json
import uuid

import pytest
import schemathesis
import yaml
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from capabilities_app.api import openapi
from capabilities_app.runtime.catalog import get_catalog
from capabilities_app.store.models import Capability
from tests.conftest import NETBIRD, PREFECT, SHIPYARD
from tests.integration.rest.conftest import load
from tests.integration.test_corpus import IMPORTABLE, ids, import_file
from tests.support.keys import make_key
from tests.support.wsgi import test_connection_kept

pytestmark = pytest.mark.django_db

PREFECT_NS = "prefect-account-billing-rest"
SEEDS = {PREFECT: PREFECT_NS, NETBIRD: "netbird-checkout-rest", SHIPYARD: "fleet-api"}


def _rest_operations(path) -> list[tuple[str, str]]:
    document = yaml.safe_load(path.read_text())
    return [
        (op["method"], resource["path"])
        for expose in document["capability"]["exposes"]
        if expose["type"] == "rest"
        for resource in expose["resources"]
        for op in resource.get("operations", [])
    ]


# ----------------------------------------------------------------- every document validates


@pytest.mark.parametrize("seed", list(SEEDS), ids=lambda p: p.name)
def test_seed_document_validates_and_covers_every_operation(api, seed):
    """Issue 13 point 2: a seed's document is valid OpenAPI 3.1 and has every exposed
    path and method."""
    load(seed)
    response = api.get(f"/rest/{SEEDS[seed]}/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = response.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    served = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    declared = {
        (m, "/" + p.strip("/").replace("{{", "{").replace("}}", "}"))
        for m, p in _rest_operations(seed)
    }
    assert served == declared


@pytest.mark.parametrize("path", IMPORTABLE, ids=ids)
def test_corpus_documents_validate(path):
    """Issue 13 point 2: every corpus file that imports gives valid OpenAPI 3.1 documents,
    one per REST expose, with every exposed path."""
    outcome = import_file(path)
    assert outcome.status == "created"
    catalog = get_catalog()
    for namespace, routes in catalog.routes.items():
        document = openapi.document(catalog, namespace)
        assert document is not None
        validate(document)
        assert len(document["paths"]) == len({r.regex.pattern for r in routes})


def test_a_broken_document_is_caught_by_the_validator():
    """The validator the tests lean on does refuse what is not OpenAPI 3.1."""
    with pytest.raises(OpenAPIValidationError):
        validate({"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/a/{b}": {"get": {}}}})


# ----------------------------------------------------------------- what the document says


def _document(api, namespace: str) -> dict:
    response = api.get(f"/rest/{namespace}/openapi.json")
    assert response.status_code == 200, response.content
    return response.json()


def test_shipyard_parameters_types_and_response_schema(api):
    """Issue 13 point 2: declared parameters keep their `in`, requirement, type and
    description; path variables are required; the answer's schema is the output
    parameters'."""
    load(SHIPYARD)
    paths = _document(api, "fleet-api")["paths"]
    listing = paths["/ships"]["get"]
    (status,) = [p for p in listing["parameters"] if p.get("name") == "status"]
    assert status == {
        "name": "status",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "Operational status (active, laid_up)",
    }
    ship = paths["/ships/{imo}"]["get"]
    (imo,) = [p for p in ship["parameters"] if p.get("name") == "imo"]
    assert (imo["in"], imo["required"], imo["description"]) == ("path", True, "IMO number")
    schema = ship["responses"]["2XX"]["content"]["application/json"]["schema"]
    assert schema["properties"]["tonnage"]["type"] == ["number", "null"]
    items = listing["responses"]["2XX"]["content"]["application/json"]["schema"]["items"]
    assert set(items["properties"]) == {"imo", "name", "status"}
    assert paths["/ships"]["description"] == "Ships of the fleet"


def test_prefect_request_bodies_and_problem_responses(api):
    """Issue 13 point 2: a body the call needs is a required request body of the
    consumed parameter's type; errors are problem+json with the registry's code."""
    load(PREFECT)
    document = _document(api, PREFECT_NS)
    post = document["paths"]["/v1/api/billing/{account-id}/subscribe"]["post"]
    assert post["requestBody"]["required"] is True
    assert post["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    slots = document["paths"]["/v1/api/billing/{account-id}/update-slots"]["post"]
    assert slots["requestBody"]["required"] is False
    get = document["paths"]["/v1/api/billing/{account-id}/details"]["get"]
    assert "requestBody" not in get
    assert get["responses"]["404"] == {"$ref": "#/components/responses/Error404"}
    problem = document["components"]["responses"]["Error404"]["content"]
    assert problem["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "code" in document["components"]["schemas"]["Problem"]["required"]
    assert document["servers"] == [
        {
            "url": "http://127.0.0.1:8000/rest/prefect-account-billing-rest",
            "description": "this registry",
        }
    ]
    assert document["info"]["title"].startswith("Prefect Cloud API — Account Billing")


def test_security_follows_the_client_key_setting(api, settings):
    """Issue 13 point 2: with keys required, every operation needs a client key (Bearer
    or X-API-Key); without, no credential is an alternative."""
    load(SHIPYARD)
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    required = _document(api, "fleet-api")
    assert required["paths"]["/ships"]["get"]["security"] == [
        {"clientKeyHeader": []},
        {"clientKeyBearer": []},
    ]
    schemes = required["components"]["securitySchemes"]
    assert schemes["clientKeyHeader"] == {
        **schemes["clientKeyHeader"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert (schemes["clientKeyBearer"]["type"], schemes["clientKeyBearer"]["scheme"]) == (
        "http",
        "bearer",
    )
    settings.REGISTRY_REQUIRE_CLIENT_KEY = False
    optional = _document(api, "fleet-api")
    assert optional["paths"]["/ships"]["get"]["security"][0] == {}


EXPOSE_AUTH = """
naftiko: "1.0.0-alpha2"
info: {label: Guarded}
binds: [{namespace: env, keys: {GUARD_TOKEN: GUARD_TOKEN}}]
capability:
  consumes:
    - namespace: up
      type: http
      baseUri: "http://127.0.0.1:9"
      resources:
        - name: r
          path: /r
          operations: [{name: get-r, method: GET}]
  exposes:
    - type: rest
      namespace: guarded-api
      authentication: {type: apikey, key: X-Guard, value: "{{GUARD_TOKEN}}", placement: header}
      resources:
        - path: /r
          operations: [{name: get-r, method: GET, call: up.get-r}]
"""


def test_the_exposes_own_authentication_is_its_security(api, settings, monkeypatch):
    """Issue 13 point 2: an expose's own authentication is the scheme its callers need;
    the document names where the credential goes, never its value."""
    monkeypatch.setenv("GUARD_TOKEN", "s3cret-value")
    load(EXPOSE_AUTH, name="guarded")
    settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH = False
    document = _document(api, "guarded-api")
    assert document["paths"]["/r"]["get"]["security"] == [{"exposeAuthentication": []}]
    scheme = document["components"]["securitySchemes"]["exposeAuthentication"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Guard")
    settings.REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH = True
    settings.REGISTRY_REQUIRE_CLIENT_KEY = True
    both = _document(api, "guarded-api")
    assert {"exposeAuthentication": [], "clientKeyHeader": []} in both["paths"]["/r"]["get"][
        "security"
    ]
    for body in (
        api.get("/rest/guarded-api/openapi.json").content,
        api.get("/rest/guarded-api/openapi.yaml").content,
    ):
        assert b"s3cret-value" not in body and b"GUARD_TOKEN" not in body


# ----------------------------------------------------------------- serving


def test_documents_are_public_and_yaml_equals_json(api, keys_required):
    """Issue 13 point 2: the documents and the docs page are public discovery documents:
    read without a credential, while the operations themselves need one."""
    load(SHIPYARD)
    assert api.get("/rest/fleet-api/ships").status_code == 401
    as_json = api.get("/rest/fleet-api/openapi.json")
    as_yaml = api.get("/rest/fleet-api/openapi.yaml")
    assert as_json.status_code == as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.content) == json.loads(as_json.content)
    assert api.get("/rest/fleet-api/docs").status_code == 200
    head = api.head("/rest/fleet-api/openapi.json")
    assert head.status_code == 200 and head.content == b""


def test_an_unknown_namespace_is_the_surfaces_404(api):
    """Issue 13 point 2: a namespace not served answers problem+json 404."""
    load(SHIPYARD)
    for name in ("openapi.json", "openapi.yaml", "docs"):
        response = api.get(f"/rest/no-such-api/{name}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "route_not_found"


def test_other_methods_are_405(api):
    load(SHIPYARD)
    response = api.post("/rest/fleet-api/openapi.json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["code"] == "method_not_allowed"


def test_the_docs_page_has_its_own_policy_not_the_sandbox(api):
    """Issue 13 point 2: the registry's own Swagger page may run its ('self') scripts;
    every other answer under /rest/ keeps the sandbox."""
    load(SHIPYARD)
    page = api.get("/rest/fleet-api/docs")
    policy = page["Content-Security-Policy"]
    assert "sandbox" not in policy
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html  # no CDN
    assert 'data-openapi-url="/rest/fleet-api/openapi.json"' in html
    assert api.get("/rest/fleet-api/openapi.json")["Content-Security-Policy"] == "sandbox"
    assert api.get("/rest/fleet-api/nothing")["Content-Security-Policy"] == "sandbox"


HIDING = """
naftiko: "1.0.0-alpha2"
info: {label: Hiding}
capability:
  consumes:
    - namespace: up
      type: http
      baseUri: "http://127.0.0.1:9"
      resources:
        - name: r
          path: /spec
          operations: [{name: get-spec, method: GET}]
  exposes:
    - type: rest
      namespace: hiding-api
      resources:
        - path: /openapi.json
          operations:
            - name: own-spec
              method: GET
              outputParameters: [{name: mine, type: string, value: "the capability's own"}]
"""


def test_a_capability_route_at_openapi_json_wins_and_import_warns(api, upstream):
    """Issue 13 point 2: an expose's own /openapi.json is served; the import says the
    generated document is hidden there; the YAML and the docs page are still generated."""
    from capabilities_app.store.importer import import_documents, text_input

    report = import_documents([text_input("hiding.yaml", HIDING.strip() + "\n", max_bytes=10**6)])
    warnings = [str(w) for w in report.outcomes[0].warnings]
    assert any(
        "generated OpenAPI document or docs page is not served there" in w for w in warnings
    ), warnings
    response = api.get("/rest/hiding-api/openapi.json")
    assert response.status_code == 200
    assert response.json() == {"mine": "the capability's own"}
    assert api.get("/rest/hiding-api/openapi.yaml").status_code == 200
    assert api.get("/rest/hiding-api/docs").status_code == 200


def test_the_document_is_computed_once_per_catalog(api):
    """Issue 13 point 2: cached per catalog version; a new catalog computes it again."""
    load(SHIPYARD)
    catalog = get_catalog()
    first = openapi.rendered(catalog, "fleet-api")
    assert openapi.rendered(catalog, "fleet-api") is first
    Capability.objects.filter(name="shipyard-fleet").update(label="Renamed fleet")
    from capabilities_app.store import versioning

    versioning.bump()
    renewed = get_catalog()
    assert renewed is not catalog
    assert openapi.document(renewed, "fleet-api")["info"]["title"].startswith("Renamed fleet")


# ----------------------------------------------------------------- schemathesis


@pytest.mark.parametrize(("method", "path"), _rest_operations(PREFECT))
def test_schemathesis_every_answer_conforms(upstream, keys_required, settings, method, path):
    """Issue 13 acceptance: schemathesis against the Prefect seed's document, upstream
    pointed at a test server: no 5xx, every answer conforms (every check)."""
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    load(PREFECT, base_uri=upstream.url)
    key = make_key("fuzz", "prefect-account-billing")
    with test_connection_kept():
        schema = schemathesis.openapi.from_wsgi(
            f"/rest/{PREFECT_NS}/openapi.json", get_wsgi_application()
        )
    operation = schema[path][method]
    statuses: list[int] = []

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=15, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    def check(case):
        # A fresh Idempotency-Key per example: one reused for another request is 422
        # (documented), a client's mistake the examples would otherwise make.
        response = case.call_and_validate(
            headers={"X-API-Key": key, "Idempotency-Key": uuid.uuid4().hex}
        )
        statuses.append(response.status_code)

    with test_connection_kept():  # the WSGI app called directly must not close it
        check()
    assert any(200 <= s < 300 for s in statuses), statuses  # calls did reach the upstream
    assert upstream.received
