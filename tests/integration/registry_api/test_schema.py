"""The registry API's OpenAPI document, its Swagger UI without a CDN, and schemathesis
against it: no 5xx, every answer as the schema says (issue 13 acceptance)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

from registry.wsgi import application
from tests.conftest import SHIPYARD, run_command
from tests.integration.registry_api.conftest import API
from tests.support.keys import make_key
from tests.support.wsgi import test_connection_kept

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_1_and_describes_the_registry_api_only(client):
    response = client.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/capabilities/",
        "/api/v1/capabilities/{name}/",
        "/api/v1/capabilities/{name}/export/",
        "/api/v1/validate/",
    }
    post = document["paths"]["/api/v1/capabilities/"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/yaml", "multipart/form-data"}
    assert "application/problem+json" in post["responses"]["400"]["content"]
    export = document["paths"]["/api/v1/capabilities/{name}/export/"]["get"]
    assert "application/yaml" in export["responses"]["200"]["content"]
    assert "clientKey" in document["components"]["securitySchemes"]


def test_the_swagger_ui_loads_its_assets_from_the_registry_not_a_cdn(client):
    response = client.get(f"{API}/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("drf_spectacular_sidecar" in a for a in assets), assets
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    assert "cdn" not in html.lower()


# --------------------------------------------------------------------------- schemathesis

schema = schemathesis.openapi.from_wsgi(f"{API}/schema/", application)


@pytest.fixture
def registry_with_a_writer(keys_required, settings):
    """Keys required (so every operation's security is real), the shipyard seed stored, and
    a key granted registry:write; writes are rolled back with the test's transaction, whose
    connection the WSGI application called directly must leave open."""
    settings.ALLOWED_HOSTS = ["*"]
    assert run_command("import_capability", str(SHIPYARD)).code == 0
    with test_connection_kept():
        yield {"Authorization": f"Bearer {make_key('schemathesis', 'registry:write')}"}


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_conforms_to_the_schema(case, registry_with_a_writer):
    """Every check schemathesis has, but one for the operations that take a document:
    whether a YAML text is a capability is the importer's to say (a 400 with its
    diagnostics), not something an OpenAPI schema can state, so a schema-valid body the
    importer refuses is no failure there."""
    takes_a_document = case.method in ("POST", "PUT")
    case.call_and_validate(
        headers=registry_with_a_writer,
        excluded_checks=[positive_data_acceptance] if takes_a_document else None,
    )
