import time
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.integration.test_admin import *  # noqa

@pytest.mark.django_db
def test_probe(staff):
    import_files(PREFECT, NETBIRD, SHIPYARD, SHARED / "step7-registry-consumes.yml", SHARED / "legacy-consumes.yaml", STEP_10, RESOURCES_PROMPTS)
    for model in registered_models():
        objs = list(model.objects.all())
        t = time.time()
        qs = []
        for o in objs:
            with CaptureQueriesContext(connection) as ctx:
                staff.get(change_url(o))
            qs.append(len(ctx.captured_queries))
        print(model.__name__, len(objs), round((time.time()-t)/len(objs)*1000), "ms/page", "queries", max(qs))
