"""Import writes in bulk: the number of queries does not grow with each operation.

Timing lives in bench/import_scale.py; this only counts queries.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capabilities_app.store.importer import file_inputs, import_documents
from capabilities_app.store.models import ConsumedOperation, ConsumedParameter, Tool
from tests.support.documents import generate

pytestmark = pytest.mark.django_db


def queries_to_import(tmp_path, operations: int) -> int:
    path = tmp_path / f"bench-{operations}.yaml"
    path.write_text(generate(operations))
    with CaptureQueriesContext(connection) as queries:
        report = import_documents(file_inputs([path], max_bytes=64 * 1024 * 1024))
    assert report.outcomes[0].status == "created"
    return len(queries.captured_queries)


def test_queries_do_not_grow_per_operation(tmp_path):
    small = queries_to_import(tmp_path, 20)
    large = queries_to_import(tmp_path, 400)
    assert ConsumedOperation.objects.count() == 420
    assert Tool.objects.count() == 420
    assert ConsumedParameter.objects.count() == 3 * 420
    # 380 more operations (and 1,140 more parameters) cost a few insert batches at most.
    assert large - small < 380 / 10, (small, large)


def test_unchanged_reimport_costs_the_same_at_any_size(tmp_path):
    counts = []
    for operations in (20, 400):
        path = tmp_path / f"bench-{operations}.yaml"
        path.write_text(generate(operations))
        import_documents(file_inputs([path], max_bytes=64 * 1024 * 1024))
        with CaptureQueriesContext(connection) as queries:
            report = import_documents(file_inputs([path], max_bytes=64 * 1024 * 1024))
        assert report.outcomes[0].status == "unchanged"
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
