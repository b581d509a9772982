"""The admin through Django's test client: pages, search, filters, edits, actions, Import YAML.

Edits go through the real change forms: each test GETs the page, scrapes the fields
the page renders (as a browser would submit them), changes one value and POSTs it
back, so the inline management forms and every hidden field round-trip as they do
for a person using the admin.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.text import capfirst

from capabilities_app.access import clients
from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.importer import import_documents, text_input
from tests.conftest import CORPUS, NETBIRD, PREFECT, SHIPYARD, database_state, run_command
from tests.support.admin_forms import change_url, changelist_url, edit, form_fields

pytestmark = pytest.mark.django_db

APP = "capabilities_app"
TUTORIAL = CORPUS / "naftiko__framework" / "tutorial"
SHARED = TUTORIAL / "shared"
# Between them these hold a row of every model: aggregates and refs (step 10),
# MCP resources and prompts, parameters at every level.
STEP_10 = TUTORIAL / "step-10-shipyard-rest-adapter.yml"
RESOURCES_PROMPTS = CORPUS / "naftiko__framework" / "mcp-resources-prompts-capability.yaml"
PREFECT_NAME = "prefect-account-billing"


# --------------------------------------------------------------------------- helpers


def import_files(*paths: Path) -> None:
    for path in paths:
        result = run_command("import_capability", str(path))
        assert result.code == 0, result.stderr


def reimport(capability: m.Capability) -> str:
    """Import the capability's export under its own name; return the outcome's status."""
    max_bytes = django_settings.REGISTRY_MAX_DOCUMENT_BYTES
    data = export_yaml(capability).encode()
    report = import_documents([text_input(f"{capability.name}.yaml", data, max_bytes=max_bytes)])
    assert report.ok, [str(d) for o in report.outcomes for d in o.errors]
    return report.outcomes[0].status


def result_names(response) -> list[str]:
    return [c.name for c in response.context["cl"].result_list]


def messages_of(response) -> list[str]:
    """The messages the page shows (after a followed redirect)."""
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    page = html.unescape(response.content.decode())
    for message in shown:
        assert capfirst(message) in page  # the admin shows messages capitalised
    return shown


def spread(items: list, count: int) -> list:
    """At most ``count`` of ``items``, evenly spaced, first and last included."""
    if len(items) <= count:
        return items
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def capability_named(name: str) -> m.Capability:
    return m.Capability.objects.get(name=name)


def tool_named(name: str, capability: str = PREFECT_NAME) -> m.Tool:
    return m.Tool.objects.get(name=name, expose__capability__name=capability)


def registered_models() -> Iterable[type]:
    return [
        model for model in apps.get_app_config(APP).get_models() if admin.site.is_registered(model)
    ]


@pytest.fixture
def prefect() -> m.Capability:
    import_files(PREFECT)
    return capability_named(PREFECT_NAME)


@pytest.fixture
def registry() -> None:
    """The three fixtures and a shared consumes document (a document with no exposes)."""
    import_files(PREFECT, NETBIRD, SHIPYARD, SHARED / "step5-registry-consumes.yaml")


@pytest.fixture
def everything() -> None:
    """Documents that between them hold a row of every model (Prefect adds only repeats)."""
    import_files(
        NETBIRD,
        SHIPYARD,
        SHARED / "step7-registry-consumes.yml",
        SHARED / "legacy-consumes.yaml",
        STEP_10,
        RESOURCES_PROMPTS,
    )
    # Jobs are written by the registry, never imported: one of each kind and outcome.
    fleet = m.Capability.objects.get(name="shipyard-fleet")
    m.Job.objects.create(kind="rest", namespace="fleet-api", method="GET", target="/ships")
    m.Job.objects.create(
        kind="rest",
        capability=fleet,
        namespace="fleet-api",
        method="GET",
        target="/ships/{imo}",
        status="succeeded",
        attempts=1,
        upstream_status=200,
        result={"imo": "IMO9321483"},
        result_content_type="application/json",
    )
    m.Job.objects.create(
        kind="tool",
        capability=fleet,
        namespace="fleet-tools",
        target="list-ships",
        status="failed",
        attempts=3,
        upstream_status=503,
        error={"status": 503, "code": "upstream_error", "title": "Upstream error"},
    )
    # Client keys are made by clients.create_key (the command, the admin), never imported.
    clients.create_key("ci-bot", grants=["shipyard-fleet", "netbird-checkout"], owner="team")


# --------------------------------------------------------------------------- every page


class TestEveryPage:
    def test_only_inline_models_have_no_pages(self) -> None:
        missing = {
            model.__name__
            for model in apps.get_app_config(APP).get_models()
            if not admin.site.is_registered(model)
        }
        # Tags, bind keys and grants are edited inline on their parents; rate counters
        # are the rate limiter's own rows.
        assert missing == {"CapabilityTag", "BindKey", "ClientGrant", "RateCounter"}

    def test_every_changelist_and_change_page_renders(self, staff, everything) -> None:
        failures = []
        for model in registered_models():
            objects = list(model.objects.all())
            assert objects, f"the imported documents hold no {model.__name__}"
            response = staff.get(changelist_url(model))
            if response.status_code != 200 or response.context["cl"].result_count != len(objects):
                failures.append(f"{model.__name__} changelist: {response.status_code}")
            for obj in spread(objects, 6):
                status = staff.get(change_url(obj)).status_code
                if status != 200:
                    failures.append(f"{model.__name__} {obj.pk} ({obj}): {status}")
        assert failures == []

    def test_every_search_and_add_page_renders(self, staff, everything) -> None:
        failures = []
        for model in registered_models():
            name = model._meta.model_name
            pages = [
                (changelist_url(model), {"q": "ship"}),
                (changelist_url(model), {"q": "no such thing"}),
            ]
            if model not in (m.RegistryState, m.Job):  # read-only: the registry writes them
                pages.append((reverse(f"admin:{APP}_{name}_add"), {}))
            for url, query in pages:
                status = staff.get(url, query).status_code
                if status != 200:
                    failures.append(f"{url} {query}: {status}")
        assert failures == []


# --------------------------------------------------------------------------- search and filters


class TestJobList:
    def test_jobs_are_filtered_by_status_and_kind(self, staff, everything) -> None:
        url = changelist_url(m.Job)
        counts = [
            staff.get(url, query).context["cl"].result_count
            for query in ({}, {"status__exact": "failed"}, {"kind__exact": "rest"})
        ]
        assert counts == [3, 1, 2]

    def test_queued_jobs_are_cancelled_from_the_list(self, staff, everything) -> None:
        ids = [str(pk) for pk in m.Job.objects.values_list("pk", flat=True)]
        response = staff.post(
            changelist_url(m.Job), {"action": "cancel_queued", "_selected_action": ids}
        )
        assert response.status_code == 302
        statuses = sorted(m.Job.objects.values_list("status", flat=True))
        assert statuses == ["cancelled", "failed", "succeeded"]  # only the queued one changed


class TestCapabilitySearch:
    @pytest.mark.parametrize(
        ("term", "expected"),
        [
            pytest.param("prefect-account-billing", ["prefect-account-billing"], id="name"),
            pytest.param("NetBird REST API", ["netbird-checkout"], id="label"),
            pytest.param("Demo", ["shipyard-fleet"], id="tag"),
            pytest.param("fleet-tools", ["shipyard-fleet"], id="expose-namespace"),
            pytest.param("prefect-account-billing-mcp", [PREFECT_NAME], id="mcp-namespace"),
            pytest.param("registry", ["step5-registry-consumes"], id="consumes-namespace"),
            pytest.param("nothing-like-this", [], id="no-match"),
        ],
    )
    def test_search_finds_the_capability(self, staff, registry, term, expected) -> None:
        response = staff.get(changelist_url(m.Capability), {"q": term})
        assert response.status_code == 200
        assert result_names(response) == expected


class TestCapabilityFilters:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            pytest.param({"tag": "Demo"}, ["shipyard-fleet"], id="tag"),
            pytest.param({"tag": "Prefect"}, [PREFECT_NAME], id="tag-prefect"),
            pytest.param(
                {"expose_type": "mcp"},
                ["netbird-checkout", PREFECT_NAME, "shipyard-fleet"],
                id="expose-type-mcp",
            ),
            pytest.param({"expose_type": "skill"}, [], id="expose-type-skill"),
            pytest.param({"kind": "consumes"}, ["step5-registry-consumes"], id="kind"),
        ],
    )
    def test_filter(self, staff, registry, query, expected) -> None:
        response = staff.get(changelist_url(m.Capability), query)
        assert response.status_code == 200
        assert result_names(response) == expected

    def test_filter_choices_list_tags_and_expose_types(self, staff, registry) -> None:
        page = staff.get(changelist_url(m.Capability)).content.decode()
        for choice in (
            "?tag=Demo",
            "?tag=Account+Billing",
            "?expose_type=mcp",
            "?enabled__exact=0",
        ):
            assert choice in page

    def test_enabled_filter(self, staff, registry) -> None:
        m.Capability.objects.filter(name="netbird-checkout").update(enabled=False)
        url = changelist_url(m.Capability)
        assert result_names(staff.get(url, {"enabled__exact": "0"})) == ["netbird-checkout"]
        assert "netbird-checkout" not in result_names(staff.get(url, {"enabled__exact": "1"}))

    def test_counts_in_the_list(self, staff, registry) -> None:
        response = staff.get(changelist_url(m.Capability), {"q": PREFECT_NAME})
        (capability,) = response.context["cl"].result_list
        assert (capability._operations, capability._tools) == (8, 8)


# --------------------------------------------------------------------------- the capability page


class TestCapabilityPage:
    def test_lists_consumed_operations_and_tools(self, staff, prefect) -> None:
        page = staff.get(change_url(prefect)).content.decode()
        operations_table, tools_table = re.findall(r'<table class="overview">.*?</table>', page)
        operations = m.ConsumedOperation.objects.filter(resource__consumes__capability=prefect)
        assert operations_table.count("<tr>") == 1 + 8
        for operation in operations:
            link = f'<a href="{change_url(operation)}">{operation.call_name}</a>'
            assert link in operations_table
        assert "<td>GET</td><td>/api/billing/{account_id}/details</td>" in operations_table
        assert tools_table.count("<tr>") == 1 + 8
        for tool in m.Tool.objects.filter(expose__capability=prefect):
            assert f'<a href="{change_url(tool)}">{tool.name}</a>' in tools_table
            assert f"<td>{tool.call.call_name}</td>" in tools_table
        assert "<td>prefect-account-billing-mcp</td>" in tools_table

    def test_shows_consumes_and_exposes_inlines(self, staff, prefect) -> None:
        response = staff.get(change_url(prefect))
        formsets = {f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]}
        assert formsets["consumes"].initial_form_count() == 1
        assert formsets["exposes"].initial_form_count() == 2
        assert formsets["tags"].initial_form_count() == 2
        data = form_fields(response.content.decode())
        assert data["consumes-0-namespace"] == [PREFECT_NAME]
        assert data["exposes-0-namespace"] == ["prefect-account-billing-rest"]
        assert data["exposes-1-namespace"] == ["prefect-account-billing-mcp"]
        page = response.content.decode()
        for part in (*prefect.consumes.all(), *prefect.exposes.all()):
            assert change_url(part) in page  # show_change_link

    def test_export_link(self, staff, prefect) -> None:
        page = staff.get(change_url(prefect)).content.decode()
        url = reverse(f"admin:{APP}_capability_export", args=[prefect.pk])
        assert f'href="{url}"' in page
        response = staff.get(url)
        assert response["Content-Type"] == "application/yaml"
        assert response.content.decode() == export_yaml(prefect)


class TestCallAutocomplete:
    def test_finds_operations_by_call_name(self, staff, registry) -> None:
        response = staff.get(
            reverse("admin:autocomplete"),
            {"app_label": APP, "model_name": "tool", "field_name": "call", "term": "fleet"},
        )
        assert response.status_code == 200
        found = sorted(result["text"] for result in response.json()["results"])
        assert found == ["fleet.get-ship", "fleet.list-ships"]


# --------------------------------------------------------------------------- edits reach the export


class TestEditsReachTheExport:
    def test_tool_description(self, staff, prefect) -> None:
        tool = tool_named("get-billing-details")
        response = edit(staff, tool, {"description": "Billing details, edited in the admin"})
        assert response.status_code == 302, response.context and response.context["errors"]
        document = yaml.safe_load(export_yaml(prefect))
        tools = {t["name"]: t for t in document["capability"]["exposes"][1]["tools"]}
        assert tools["get-billing-details"]["description"] == "Billing details, edited in the admin"
        assert tools["get-billing-details"]["hints"] == {
            "readOnly": True,
            "destructive": False,
            "idempotent": True,
        }
        assert tools["get-billing-details"]["call"] == (
            "prefect-account-billing.getbillingdetailsapibillingaccountiddetailsget"
        )
        assert tools["get-billing-details"]["with"] == {"account_id": "tools.account_id"}

    def test_tool_edit_changes_only_the_description(self, staff, prefect) -> None:
        before = yaml.safe_load(export_yaml(prefect))
        edit(staff, tool_named("get-billing-details"), {"description": "Edited"})
        after = yaml.safe_load(export_yaml(prefect))
        before["capability"]["exposes"][1]["tools"][2]["description"] = "Edited"
        assert after == before

    def test_reimporting_the_export_changes_nothing(self, staff, prefect) -> None:
        edit(staff, tool_named("get-billing-details"), {"description": "Edited"})
        state = database_state()
        assert reimport(prefect) == "unchanged"
        assert database_state() == state

    def test_capability_label_with_its_inlines(self, staff, prefect) -> None:
        before = yaml.safe_load(export_yaml(prefect))
        page = staff.get(change_url(prefect))
        data = form_fields(page.content.decode())
        for prefix in ("tags", "binds", "consumes", "exposes", "aggregates"):
            assert f"{prefix}-TOTAL_FORMS" in data
            assert f"{prefix}-INITIAL_FORMS" in data
        response = edit(staff, prefect, {"label": "Prefect billing (edited)"})
        assert response.status_code == 302, response.context and response.context["errors"]
        after = yaml.safe_load(export_yaml(capability_named(PREFECT_NAME)))
        assert after["info"]["label"] == "Prefect billing (edited)"
        before["info"]["label"] = "Prefect billing (edited)"
        assert after == before  # baseUri: '' and everything else as it was
        assert after["capability"]["consumes"][0]["baseUri"] == ""

    def test_consumes_page_keeps_an_empty_base_uri(self, staff, prefect) -> None:
        consumes = prefect.consumes.get()
        assert consumes.base_uri == ""
        response = edit(staff, consumes, {"description": "Edited upstream description"})
        assert response.status_code == 302, response.context and response.context["errors"]
        consumes.refresh_from_db()
        assert consumes.base_uri == ""  # not None: the key is still written
        document = yaml.safe_load(export_yaml(prefect))
        assert document["capability"]["consumes"][0]["baseUri"] == ""
        assert document["capability"]["consumes"][0]["description"] == "Edited upstream description"
        assert reimport(prefect) == "unchanged"

    def test_clearing_a_value_removes_the_key(self, staff, prefect) -> None:
        tool = tool_named("get-billing-details")
        response = edit(staff, tool, {"description": ""})
        assert response.status_code == 302
        tool.refresh_from_db()
        assert tool.description is None
        document = yaml.safe_load(export_yaml(prefect))
        assert "description" not in document["capability"]["exposes"][1]["tools"][2]

    def test_multi_line_text_survives_a_save(self, staff) -> None:
        text = SHIPYARD.read_text()
        one_line = 'description: "Retrieve a ship\'s details by IMO number"'
        assert text.count(one_line) == 1
        multi_line = "description: |\n            Retrieve a ship.\n            By IMO number."
        max_bytes = django_settings.REGISTRY_MAX_DOCUMENT_BYTES
        report = import_documents(
            [text_input("fleet.yaml", text.replace(one_line, multi_line), max_bytes=max_bytes)]
        )
        assert report.ok
        tool = tool_named("get-ship", "fleet")
        assert tool.description == "Retrieve a ship.\nBy IMO number.\n"
        before = export_yaml(capability_named("fleet"))
        response = edit(staff, tool, {"label": "Get a ship"})
        assert response.status_code == 302
        tool.refresh_from_db()
        assert tool.description == "Retrieve a ship.\nBy IMO number.\n"
        assert export_yaml(capability_named("fleet")) == before.replace(
            "label: Get ship", "label: Get a ship"
        )

    def test_saving_any_page_unchanged_changes_no_export(self, staff, everything) -> None:
        before = {c.name: export_yaml(c) for c in m.Capability.objects.all()}
        for model in registered_models():
            if model in (m.RegistryState, m.Job):  # read-only
                continue
            part = model.objects.order_by("pk").last()
            response = edit(staff, part, {})
            assert response.status_code == 302, (part, response.context["errors"])
        after = {c.name: export_yaml(c) for c in m.Capability.objects.all()}
        assert after == before


# --------------------------------------------------------------------------- errors on the form


def form_errors(response) -> str:
    """Every error the change form shows (its fields', its inlines', non-field ones)."""
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    errors = [e for messages in form.errors.values() for e in messages]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        errors += [e for form_errors in formset.errors for ms in form_errors.values() for e in ms]
        errors += list(formset.non_form_errors())
    page = html.unescape(response.content.decode())
    for error in errors:
        assert error in page, f"error not shown on the page: {error}"
    return "\n".join(errors)


class TestEditsOfImportedConsumes:
    """An edited imported consumes block is exported inline, so the export shows the edit."""

    def test_an_untouched_import_stays_a_reference(self, staff, corpus_copy) -> None:
        step = corpus_copy / STEP_10.relative_to(CORPUS)
        import_files(step)
        capability = capability_named(step.stem)
        consumes = capability.consumes.get(namespace="registry")
        assert edit(staff, consumes, {}).status_code == 302  # saved, nothing changed
        assert "location: ./shared/step7-registry-consumes.yml" in export_yaml(capability)

    def test_an_edited_operation_detaches_its_block(self, staff, corpus_copy) -> None:
        step = corpus_copy / STEP_10.relative_to(CORPUS)
        import_files(step)
        capability = capability_named(step.stem)
        operation = m.ConsumedOperation.objects.get(
            name="get-ship", resource__consumes__capability=capability
        )
        assert edit(staff, operation, {"label": "Get one ship"}).status_code == 302
        text = export_yaml(capability)
        exported = yaml.safe_load(text)["capability"]["consumes"]
        registry = next(c for c in exported if c.get("namespace") == "registry")
        assert "location" not in registry
        assert registry["baseUri"].startswith("https://mocks.naftiko.net")
        ops = [o for r in registry["resources"] for o in r["operations"] if o["name"] == "get-ship"]
        assert ops[0]["label"] == "Get one ship"
        # The other import is untouched and stays a reference.
        assert {"location": "./shared/legacy-consumes.yaml", "import": "legacy"} in exported
        copy = step.with_name("edited-" + step.name)
        copy.write_text(text)
        result = run_command("import_capability", "--name", step.stem, str(copy))
        assert result.stdout.startswith(f"unchanged {step.stem}"), result.stdout + result.stderr


class TestErrorsOnTheForm:
    @pytest.mark.parametrize("expose_type", ["mcp", "rest"])
    def test_expose_namespace_owned_by_another_capability(
        self, staff, registry, expose_type
    ) -> None:
        expose = m.Expose.objects.get(capability__name="netbird-checkout", type=expose_type)
        taken = f"prefect-account-billing-{expose_type}"
        state = database_state()
        response = edit(staff, expose, {"namespace": taken})
        errors = form_errors(response)
        assert f"Namespace {taken!r} is owned by capability 'prefect-account-billing'" in errors
        assert database_state() == state

    def test_expose_namespace_in_the_capability_page_inline(self, staff, registry) -> None:
        netbird = capability_named("netbird-checkout")
        index = list(netbird.exposes.order_by("position", "id").values_list("type", flat=True))
        field = f"exposes-{index.index('mcp')}-namespace"
        state = database_state()
        response = edit(staff, netbird, {field: "prefect-account-billing-mcp"})
        assert "is owned by capability 'prefect-account-billing'" in form_errors(response)
        assert database_state() == state

    def test_tool_call_to_another_capabilitys_operation(self, staff, registry) -> None:
        tool = tool_named("get-billing-details")
        foreign = m.ConsumedOperation.objects.get(
            resource__consumes__capability__name="shipyard-fleet", name="get-ship"
        )
        state = database_state()
        response = edit(staff, tool, {"call": str(foreign.pk)})
        errors = form_errors(response)
        assert "fleet.get-ship belongs to capability 'shipyard-fleet'" in errors
        assert database_state() == state

    def test_rest_operation_call_to_another_capabilitys_operation(self, staff, registry) -> None:
        operation = m.ExposedOperation.objects.filter(
            resource__expose__capability__name=PREFECT_NAME
        ).first()
        foreign = m.ConsumedOperation.objects.get(
            resource__consumes__capability__name="netbird-checkout"
        )
        response = edit(staff, operation, {"call": str(foreign.pk)})
        assert "belongs to capability 'netbird-checkout'" in form_errors(response)

    @pytest.mark.parametrize("field", ["with_values", "output_parameters", "extra"])
    def test_invalid_json(self, staff, registry, field) -> None:
        state = database_state()
        response = edit(staff, tool_named("get-billing-details"), {field: "{not: json"})
        # JSON parts are edited as YAML (docs/admin-parts.md): the error names line and column.
        assert re.search(r"Line \d+, column \d+: YAML syntax error: ", form_errors(response))
        assert database_state() == state

    def test_invalid_authentication(self, staff, registry) -> None:
        consumes = capability_named("netbird-checkout").consumes.get()
        response = edit(staff, consumes, {"authentication": '{"type": "magic"}'})
        assert "Authentication is a mapping whose type is one of" in form_errors(response)

    def test_invalid_name_of_a_capability(self, staff, registry) -> None:
        response = edit(staff, capability_named("netbird-checkout"), {"name": "-no spaces-"})
        assert "Use letters, digits" in form_errors(response)


class TestProtectedDelete:
    def test_deleting_a_called_operation_is_refused(self, staff, prefect) -> None:
        operation = m.ConsumedOperation.objects.get(
            name="getbillingdetailsapibillingaccountiddetailsget"
        )
        url = reverse(f"admin:{APP}_consumedoperation_delete", args=[operation.pk])
        state = database_state()
        page = staff.get(url)
        assert page.status_code == 200
        assert "Cannot delete consumed operation" in page.content.decode()
        assert change_url(tool_named("get-billing-details")) in page.content.decode()
        confirmed = staff.post(url, {"post": "yes"})
        assert confirmed.status_code == 200
        assert "Cannot delete consumed operation" in confirmed.content.decode()
        assert database_state() == state

    def test_delete_action_on_called_operations_is_refused(self, staff, prefect) -> None:
        operations = m.ConsumedOperation.objects.filter(resource__consumes__capability=prefect)
        state = database_state()
        response = staff.post(
            changelist_url(m.ConsumedOperation),
            {
                "action": "delete_selected",
                "_selected_action": [str(pk) for pk in operations.values_list("pk", flat=True)],
                "post": "yes",
            },
        )
        assert response.status_code == 200
        assert "Cannot delete consumed operations" in response.content.decode()
        assert database_state() == state

    def test_a_whole_capability_can_be_deleted(self, staff, everything) -> None:
        capability = capability_named("step-10-shipyard-rest-adapter")
        assert m.AggregateFunction.objects.filter(aggregate__capability=capability).exists()
        url = reverse(f"admin:{APP}_capability_delete", args=[capability.pk])
        assert "Cannot delete" not in staff.get(url).content.decode()
        assert staff.post(url, {"post": "yes"}).status_code == 302
        assert not m.Capability.objects.filter(name="step-10-shipyard-rest-adapter").exists()
        assert not m.Tool.objects.filter(expose__capability_id=capability.pk).exists()
        operations = m.ConsumedOperation.objects.filter(
            resource__consumes__capability_id=capability.pk
        )
        assert not operations.exists()
        assert m.Capability.objects.filter(name="step7-registry-consumes").exists()


# --------------------------------------------------------------------------- actions


def run_action(client: Client, action: str, *names: str):
    """Run a changelist action on the named capabilities (following its redirect)."""
    pks = [str(capability_named(name).pk) for name in names]
    return client.post(
        changelist_url(m.Capability),
        {"action": action, "_selected_action": pks, "index": "0"},
        follow=True,
    )


class TestActions:
    def test_export_one_capability_as_yaml(self, staff, registry) -> None:
        response = run_action(staff, "export_yaml_action", PREFECT_NAME)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/yaml"
        assert response["Content-Disposition"] == (
            'attachment; filename="prefect-account-billing.yaml"'
        )
        assert response.content.decode() == export_yaml(capability_named(PREFECT_NAME))

    def test_export_two_capabilities_as_a_zip(self, staff, registry) -> None:
        response = run_action(staff, "export_yaml_action", PREFECT_NAME, "shipyard-fleet")
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == 'attachment; filename="capabilities.zip"'
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert sorted(archive.namelist()) == [
                "prefect-account-billing.yaml",
                "shipyard-fleet.yaml",
            ]
            for name in (PREFECT_NAME, "shipyard-fleet"):
                text = archive.read(f"{name}.yaml").decode()
                assert text == export_yaml(capability_named(name))

    def test_validate_reports_warnings_and_strict_errors(self, staff, registry) -> None:
        response = run_action(staff, "validate_action", PREFECT_NAME)
        (message,) = messages_of(response)
        assert re.fullmatch(
            r"Validated “prefect-account-billing”: valid with \d+ warnings; strict mode finds "
            r"\d+ errors, "
            r"first: capability\.\S+: .+",
            message,
        ), message

    def test_validate_a_strictly_valid_capability(self, staff, registry) -> None:
        response = run_action(staff, "validate_action", "shipyard-fleet")
        assert messages_of(response) == ["Validated “shipyard-fleet”: valid (strict)"]

    def test_validate_several(self, staff, registry) -> None:
        response = run_action(staff, "validate_action", PREFECT_NAME, "shipyard-fleet")
        shown = messages_of(response)
        assert len(shown) == 2
        assert "Validated “shipyard-fleet”: valid (strict)" in shown

    def test_validate_a_capability_that_imports_shared_consumes(self, staff) -> None:
        import_files(SHARED / "step5-registry-consumes.yaml", SHARED / "legacy-consumes.yaml")
        import_files(TUTORIAL / "step-5-shipyard-multi-source.yml")
        response = run_action(staff, "validate_action", "step-5-shipyard-multi-source")
        (message,) = messages_of(response)
        assert message.startswith("Validated “step-5-shipyard-multi-source”: valid"), message

    def test_disable_and_enable(self, staff, registry) -> None:
        response = run_action(staff, "disable_action", PREFECT_NAME, "netbird-checkout")
        assert messages_of(response) == ["Disabled 2 capabilities."]
        enabled = dict(m.Capability.objects.values_list("name", "enabled"))
        assert enabled == {
            PREFECT_NAME: False,
            "netbird-checkout": False,
            "shipyard-fleet": True,
            "step5-registry-consumes": True,
        }
        response = run_action(staff, "enable_action", PREFECT_NAME)
        assert messages_of(response) == ["Enabled 1 capabilities."]
        assert capability_named(PREFECT_NAME).enabled
        assert not capability_named("netbird-checkout").enabled


# --------------------------------------------------------------------------- the Import YAML page

IMPORT_URL = reverse(f"admin:{APP}_capability_import")


def upload(name: str, content: bytes | str) -> SimpleUploadedFile:
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content, content_type="application/yaml")


def post_import(client: Client, *files: SimpleUploadedFile, **options: str):
    response = client.post(IMPORT_URL, {"files": list(files), **options})
    assert response.status_code == 200
    return response


def result_lines(response) -> list[str]:
    """The bold line of each result, as shown."""
    page = html.unescape(response.content.decode())
    results = re.search(r'<ul id="import-results">(.*?)</ul>', page, re.S)
    return re.findall(r"<strong>(.*?)</strong>", results.group(1)) if results else []


def error_text(response) -> str:
    """The error lines the page shows under its results."""
    page = html.unescape(response.content.decode())
    blocks = re.findall(r'<pre class="import-errors errornote">(.*?)</pre>', page, re.S)
    return "".join(blocks)


def with_missing_call(text: str) -> tuple[str, int]:
    """Shipyard with its ``get-ship`` tool calling an operation that does not exist."""
    old = "          call: fleet.get-ship\n          with:\n            imo_number: fleet-tools.imo"
    assert text.count(old) == 1
    broken = text.replace(old, old.replace("fleet.get-ship", "fleet.no-such-operation"))
    line = broken.splitlines().index("          call: fleet.no-such-operation") + 1
    return broken, line


class TestImportPage:
    def test_get(self, staff) -> None:
        response = staff.get(IMPORT_URL)
        assert response.status_code == 200
        page = response.content.decode()
        assert 'enctype="multipart/form-data"' in page
        assert 'type="file" name="files" multiple' in page

    def test_linked_from_the_changelist(self, staff) -> None:
        page = staff.get(changelist_url(m.Capability)).content.decode()
        assert f'href="{IMPORT_URL}"' in page

    def test_needs_the_add_permission(self, client, django_user_model, settings) -> None:
        settings.ALLOWED_HOSTS = ["testserver"]
        user = django_user_model.objects.create_user("viewer", is_staff=True)
        client.force_login(user)
        assert client.get(IMPORT_URL).status_code == 403

    def test_upload_creates_the_capability(self, staff) -> None:
        response = post_import(staff, upload(PREFECT.name, PREFECT.read_bytes()))
        assert result_lines(response) == ["created prefect-account-billing (8 operations, 8 tools)"]
        capability = capability_named(PREFECT_NAME)
        assert f'<a href="{change_url(capability)}">{PREFECT_NAME}</a>' in response.content.decode()
        assert messages_of(response) == ["1 document: 1 created"]
        assert capability.source_origin == PREFECT.name
        assert m.Tool.objects.filter(expose__capability=capability).count() == 8
        assert "warning: " in html.unescape(response.content.decode())  # lenient: warnings

    def test_upload_over_the_size_limit_names_its_real_size(self, staff, settings) -> None:
        settings.REGISTRY_MAX_DOCUMENT_BYTES = 1000
        state = database_state()
        response = post_import(staff, upload(PREFECT.name, PREFECT.read_bytes()))
        page = html.unescape(response.content.decode())
        size = len(PREFECT.read_bytes())
        assert (
            f"{PREFECT.name}:1:1: <document>: document is {size:,} bytes, over the limit of "
            "1,000 bytes (REGISTRY_MAX_DOCUMENT_BYTES)"
        ) in page
        assert database_state() == state

    def test_unchanged_upload_links_the_capability(self, staff) -> None:
        import_files(PREFECT)
        response = post_import(staff, upload(PREFECT.name, PREFECT.read_bytes()))
        assert result_lines(response) == [
            "unchanged prefect-account-billing (8 operations, 8 tools)"
        ]
        capability = capability_named(PREFECT_NAME)
        assert f'<a href="{change_url(capability)}">{PREFECT_NAME}</a>' in response.content.decode()

    def test_upload_equals_the_command(self, staff) -> None:
        post_import(staff, upload(PREFECT.name, PREFECT.read_bytes()))
        uploaded = export_yaml(capability_named(PREFECT_NAME))
        state = database_state()
        assert run_command("import_capability", str(PREFECT)).stdout.startswith("unchanged")
        assert database_state() == state
        assert export_yaml(capability_named(PREFECT_NAME)) == uploaded

    def test_name_option(self, staff) -> None:
        response = post_import(staff, upload("whatever.yaml", SHIPYARD.read_bytes()), name="fleet")
        assert result_lines(response) == ["created fleet (2 operations, 2 tools)"]
        assert capability_named("fleet").exposes.count() == 2

    def test_yaml_syntax_error(self, staff) -> None:
        state = database_state()
        text = "naftiko: 1.0.0-alpha2\ninfo:\n  label: x: y\n"
        response = post_import(staff, upload("syntax.yaml", text))
        assert result_lines(response) == ["failed syntax"]
        assert error_text(response) == (
            "syntax.yaml:3:11: <document>: YAML syntax error: "
            "mapping values are not allowed in this context\n"
        )
        assert messages_of(response) == ["1 document: 1 failed; nothing was written"]
        assert database_state() == state

    def test_call_to_a_missing_operation(self, staff) -> None:
        # Strict: a lenient import keeps the tool with a warning (issue 9 point 22).
        state = database_state()
        text, line = with_missing_call(SHIPYARD.read_text())
        response = post_import(staff, upload("shipyard-fleet.yaml", text), strict="on")
        assert result_lines(response) == ["failed shipyard-fleet"]
        errors = error_text(response)
        assert errors.startswith(
            f"shipyard-fleet.yaml:{line}:11: capability.exposes[1].tools[1].call: "
        ), errors
        assert "no-such-operation" in errors
        assert database_state() == state

    def test_strict_refuses_schema_deviations(self, staff) -> None:
        state = database_state()
        response = post_import(staff, upload(PREFECT.name, PREFECT.read_bytes()), strict="on")
        assert result_lines(response) == ["failed prefect-account-billing"]
        assert re.match(
            r"prefect-account-billing\.yaml:19:5: capability\.consumes\[0\]\.baseUri: ",
            error_text(response),
        )
        assert database_state() == state

    def test_dry_run_writes_nothing(self, staff) -> None:
        state = database_state()
        response = post_import(staff, upload(PREFECT.name, PREFECT.read_bytes()), dry_run="on")
        assert result_lines(response) == ["created prefect-account-billing (8 operations, 8 tools)"]
        assert messages_of(response) == ["1 document: 1 created; dry run, nothing was written"]
        assert "/change/" not in response.content.decode().split('id="import-results"')[1]
        assert database_state() == state

    def test_one_bad_file_writes_nothing(self, staff) -> None:
        state = database_state()
        text = SHIPYARD.read_text().replace("method: GET", "method: FETCH", 1)
        response = post_import(
            staff,
            upload(PREFECT.name, PREFECT.read_bytes()),
            upload("shipyard-fleet.yaml", text),
            upload(NETBIRD.name, NETBIRD.read_bytes()),
        )
        assert result_lines(response) == [
            "created prefect-account-billing (8 operations, 8 tools)",
            "failed shipyard-fleet",
            "created netbird-checkout (1 operations, 1 tools)",
        ]
        assert messages_of(response) == ["3 documents: 2 created, 1 failed; nothing was written"]
        assert database_state() == state

    def test_namespace_owned_by_another_capability(self, staff, prefect) -> None:
        state = database_state()
        response = post_import(staff, upload("prefect-copy.yaml", PREFECT.read_bytes()))
        assert result_lines(response) == ["failed prefect-copy"]
        assert "is owned by capability 'prefect-account-billing'" in error_text(response)
        assert database_state() == state

    def test_no_file(self, staff) -> None:
        response = staff.post(IMPORT_URL, {"strict": "on"})
        assert response.status_code == 200
        assert response.context["form"].errors == {"files": ["This field is required."]}
        assert result_lines(response) == []
        assert messages_of(response) == []

    def test_import_resolves_against_the_registry(self, staff) -> None:
        import_files(SHARED / "step5-registry-consumes.yaml", SHARED / "legacy-consumes.yaml")
        step5 = TUTORIAL / "step-5-shipyard-multi-source.yml"
        response = post_import(staff, upload(step5.name, step5.read_bytes()))
        assert result_lines(response) == [
            "created step-5-shipyard-multi-source (3 operations, 3 tools)"
        ]
        capability = capability_named("step-5-shipyard-multi-source")
        imported = {
            c.namespace: (c.import_location, c.import_name) for c in capability.consumes.all()
        }
        assert imported == {
            "registry": ("./shared/step5-registry-consumes.yaml", "registry"),
            "legacy": ("./shared/legacy-consumes.yaml", "legacy"),
        }
        tool = tool_named("list-ships", "step-5-shipyard-multi-source")
        assert tool.call.call_name == "registry.list-ships"
        assert tool.call.resource.consumes.capability == capability
        document = yaml.safe_load(export_yaml(capability))
        assert document["capability"]["consumes"] == [
            {"import": "registry", "location": "./shared/step5-registry-consumes.yaml"},
            {"import": "legacy", "location": "./shared/legacy-consumes.yaml"},
        ]

    def test_import_of_a_missing_shared_document(self, staff) -> None:
        state = database_state()
        step5 = TUTORIAL / "step-5-shipyard-multi-source.yml"
        response = post_import(staff, upload(step5.name, step5.read_bytes()))
        assert result_lines(response) == ["failed step-5-shipyard-multi-source"]
        first, second = error_text(response).splitlines()
        assert first == (
            "step-5-shipyard-multi-source.yml:21:7: capability.consumes[0].location: "
            "cannot import 'registry' from './shared/step5-registry-consumes.yaml': consumes: "
            "no document in the registry defines consumes 'registry' "
            "(import the shared document 'step5-registry-consumes' first)"
        )
        assert second.startswith(
            "step-5-shipyard-multi-source.yml:23:7: capability.consumes[1].location: "
            "cannot import 'legacy'"
        )
        assert database_state() == state

    def test_import_with_one_of_two_shared_documents(self, staff) -> None:
        import_files(SHARED / "step5-registry-consumes.yaml")
        state = database_state()
        step5 = TUTORIAL / "step-5-shipyard-multi-source.yml"
        response = post_import(staff, upload(step5.name, step5.read_bytes()))
        (error,) = error_text(response).splitlines()
        assert "(import the shared document 'legacy-consumes' first)" in error
        assert database_state() == state
