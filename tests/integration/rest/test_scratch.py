import json, pytest
from openapi_spec_validator import validate
from capabilities_app.api import openapi
from capabilities_app.runtime.catalog import get_catalog
from tests.conftest import PREFECT, SHIPYARD, NETBIRD
from tests.integration.rest.conftest import load
pytestmark = pytest.mark.django_db

@pytest.mark.parametrize("doc", [PREFECT, SHIPYARD, NETBIRD])
def test_x(doc):
    load(doc)
    cat = get_catalog()
    for ns in cat.routes:
        d = openapi.document(cat, ns)
        print(json.dumps(d, indent=1)[:6000])
        validate(d)

from tests.integration.test_corpus import IMPORTABLE, ids, import_file
@pytest.mark.parametrize("path", IMPORTABLE, ids=ids)
def test_corpus(path):
    outcome = import_file(path)
    cat = get_catalog()
    for ns in cat.routes:
        d = openapi.document(cat, ns)
        validate(d)
