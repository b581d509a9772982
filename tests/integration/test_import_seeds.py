"""The two seeds and the canonical fixture import, store every part, and re-import as unchanged."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capabilities_app.store.models import (
    Capability,
    ConsumedOperation,
    ConsumedParameter,
    Consumes,
    ExposedOperation,
    Tool,
)
from tests.conftest import NETBIRD, PREFECT, SHIPYARD, database_state, run_command

pytestmark = pytest.mark.django_db


def counts(name: str) -> tuple[int, int, int]:
    capability = Capability.objects.get(name=name)
    return (
        ConsumedOperation.objects.filter(resource__consumes__capability=capability).count(),
        ExposedOperation.objects.filter(resource__expose__capability=capability).count(),
        Tool.objects.filter(expose__capability=capability).count(),
    )


class TestSeeds:
    def test_both_seeds_import_with_their_counts(self):
        result = run_command("import_capability", str(PREFECT), str(NETBIRD))
        assert result.code == 0, result.stderr
        lines = result.stdout.splitlines()
        assert "created prefect-account-billing (8 operations, 8 tools)" in lines
        assert "created netbird-checkout (1 operations, 1 tools)" in lines
        assert counts("prefect-account-billing") == (8, 8, 8)
        assert counts("netbird-checkout") == (1, 1, 1)

    def test_lenient_import_reports_the_catalog_dialect_as_warnings(self):
        result = run_command("import_capability", str(NETBIRD))
        assert result.code == 0
        warnings = [line for line in result.stdout.splitlines() if line.startswith("  warning: ")]
        assert any(
            "Additional properties are not allowed ('description' was unexpected)" in w
            for w in warnings
        )
        assert all(f"{NETBIRD}:" in w for w in warnings)

    def test_hints_are_stored_exactly(self):
        run_command("import_capability", str(PREFECT), str(NETBIRD))
        tool = Tool.objects.get(name="get-billing-details")
        assert (tool.read_only_hint, tool.destructive_hint, tool.idempotent_hint) == (
            True,
            False,
            True,
        )
        assert tool.open_world_hint is None  # not given, so not stored
        checkout = Tool.objects.get(name="create-checkout-session")
        assert (checkout.read_only_hint, checkout.destructive_hint, checkout.idempotent_hint) == (
            False,
            False,
            False,
        )

    def test_calls_are_foreign_keys_to_consumed_operations(self):
        run_command("import_capability", str(PREFECT))
        tool = Tool.objects.get(name="get-billing-details")
        assert tool.call.name == "getbillingdetailsapibillingaccountiddetailsget"
        assert tool.call.method == "GET"
        assert tool.call.resource.path == "/api/billing/{account_id}/details"
        assert tool.with_values == {"account_id": "tools.account_id"}

    def test_catalog_parameters_keep_type_required_description(self):
        run_command("import_capability", str(NETBIRD))
        parameter = ConsumedParameter.objects.get(operation__name="post")
        assert (parameter.name, parameter.location, parameter.type, parameter.required) == (
            "body",
            "body",
            "object",
            True,
        )
        assert parameter.description == "Request body (JSON)."

    def test_empty_base_uri_is_kept_empty(self):
        run_command("import_capability", str(PREFECT))
        assert Consumes.objects.get(namespace="prefect-account-billing").base_uri == ""

    def test_source_document_and_hash_are_stored(self):
        run_command("import_capability", str(PREFECT))
        capability = Capability.objects.get(name="prefect-account-billing")
        raw = PREFECT.read_bytes()
        assert capability.source_document.encode() == raw
        assert capability.source_sha256 == hashlib.sha256(raw).hexdigest()
        assert capability.source_origin == str(PREFECT)
        assert capability.imported_at is not None
        assert list(capability.tags.values_list("name", flat=True)) == [
            "Prefect",
            "Account Billing",
        ]

    def test_canonical_fixture_imports_strictly(self):
        result = run_command("import_capability", "--strict", str(SHIPYARD))
        assert result.code == 0, result.stderr
        assert result.stdout.splitlines() == ["created shipyard-fleet (2 operations, 2 tools)"]


class TestUnchanged:
    def test_reimport_writes_nothing_and_says_unchanged(self):
        run_command("import_capability", str(PREFECT))
        before = database_state()
        with CaptureQueriesContext(connection) as queries:
            result = run_command("import_capability", str(PREFECT))
        assert result.code == 0
        assert (
            result.stdout.splitlines()[0]
            == "unchanged prefect-account-billing (8 operations, 8 tools)"
        )
        writes = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        ]
        assert writes == []
        assert database_state() == before

    def test_a_changed_document_is_updated_in_place(self, tmp_path):
        run_command("import_capability", str(PREFECT))
        capability_id = Capability.objects.get(name="prefect-account-billing").pk
        changed = tmp_path / "prefect-account-billing.yaml"
        changed.write_text(
            PREFECT.read_text().replace("Get Billing Details", "Read the billing details")
        )
        result = run_command("import_capability", str(changed))
        assert (
            result.stdout.splitlines()[0]
            == "updated prefect-account-billing (8 operations, 8 tools)"
        )
        capability = Capability.objects.get(name="prefect-account-billing")
        assert capability.pk == capability_id
        assert capability.source_origin == str(changed)
        assert (
            Tool.objects.get(name="get-billing-details").description == "Read the billing details"
        )
        assert counts("prefect-account-billing") == (8, 8, 8)

    def test_name_option_sets_the_registry_name(self):
        result = run_command("import_capability", "--name", "billing", str(PREFECT))
        assert result.code == 0
        assert Capability.objects.filter(name="billing").exists()


class TestStrict:
    def test_strict_fails_the_seeds_with_schema_messages_and_writes_nothing(self):
        before = database_state()
        result = run_command("import_capability", "--strict", str(PREFECT), str(NETBIRD))
        assert result.code == 1
        assert "failed prefect-account-billing" in result.stdout
        assert (
            f"{NETBIRD}:43:5: capability.exposes[0]: not valid under the 1.0.0-alpha2 schema: "
            in (result.stderr)
        )
        assert '"" does not match "^https?://[^/]+(/[^{]*)?$"' in result.stderr
        assert database_state() == before


class TestDeletion:
    def test_deleting_a_capability_deletes_all_its_parts(self):
        run_command("import_capability", str(PREFECT), str(SHIPYARD))
        Capability.objects.get(name="prefect-account-billing").delete()
        assert not ConsumedOperation.objects.filter(
            resource__consumes__capability__name="prefect-account-billing"
        ).exists()
        assert Tool.objects.count() == 2  # shipyard-fleet's

    def test_an_operation_a_tool_calls_cannot_be_deleted_alone(self):
        from django.db.models import RestrictedError

        run_command("import_capability", str(PREFECT))
        operation = Tool.objects.get(name="get-billing-details").call
        with pytest.raises(RestrictedError):
            operation.delete()
        assert ConsumedOperation.objects.filter(pk=operation.pk).exists()


ORDERED = """\
naftiko: 1.0.0-alpha2
info: {label: Ordered, description: Keys in an order no database would choose.}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: https://upstream.example
    resources:
    - name: items
      path: /items
      operations:
      - {name: list, method: GET}
  exposes:
  - type: mcp
    namespace: ordered-mcp
    tools:
    - name: list
      description: List
      call: up.list
      with: {zeta_longest_name: tools.z, mid_name: tools.m, a: tools.a}
      outputParameters:
      - type: object
        properties:
          very_long_property: {type: string, mapping: $.x}
          b: {type: string, mapping: $.y}
"""


def test_json_values_keep_their_key_order(tmp_path):
    """On PostgreSQL too, where jsonb would sort them."""
    path = tmp_path / "ordered.yaml"
    path.write_text(ORDERED)
    assert run_command("import_capability", str(path)).code == 0
    tool = Tool.objects.get(name="list", expose__namespace="ordered-mcp")
    assert list(tool.with_values) == ["zeta_longest_name", "mid_name", "a"]
    assert list(tool.output_parameters[0]["properties"]) == ["very_long_property", "b"]
    text = run_command("export_capability", "ordered").stdout
    assert text.index("zeta_longest_name") < text.index("mid_name") < text.index("  a: tools.a")
