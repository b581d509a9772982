"""Point 3 of issue 14: JSON parts (steps, mappings, output parameters, schemas, other
keys, …) are edited as YAML: pretty-printed, empty shown empty (never ``null``), read back
exactly as stored, and bad YAML is a form error naming its line and column."""

from __future__ import annotations

import html
import json
import re

import pytest
import yaml
from django.db import models

from capabilities_app.admin.forms import YamlField, yaml_text
from capabilities_app.store import models as m
from tests.conftest import database_state
from tests.support.admin_forms import change_url, edit, form_fields

from .conftest import part_models

pytestmark = pytest.mark.django_db

TOOL = "get-billing-details"


def tool(prefect: m.Capability, name: str = TOOL) -> m.Tool:
    return m.Tool.objects.get(expose__capability=prefect, name=name)


def textareas(page: str) -> dict[str, str]:
    """The YAML textareas of a page: name → text shown (as a browser reads it)."""
    found = re.findall(
        r'<textarea name="([^"]+)"[^>]*class="yaml-field"[^>]*>\n?(.*?)</textarea>', page, re.S
    )
    return {name: html.unescape(text) for name, text in found}


def errors_of(response) -> list[str]:
    assert response.status_code == 200
    return [str(e) for field in response.context["adminform"].form.errors.values() for e in field]


# --------------------------------------------------------------------------- shown as YAML


def test_output_parameters_are_shown_as_block_yaml(staff, prefect) -> None:
    part = tool(prefect)
    assert part.output_parameters  # the fixture has some
    shown = textareas(staff.get(change_url(part)).content.decode())
    text = shown["output_parameters"]
    assert text == yaml_text(part.output_parameters)
    assert text.startswith("- ")  # a block list, not one line of JSON
    assert "{" not in text.splitlines()[0]
    assert yaml.safe_load(text) == part.output_parameters


def test_empty_parts_are_shown_empty_never_null(staff, prefect) -> None:
    part = tool(prefect)
    assert part.steps is None and part.mappings is None
    shown = textareas(staff.get(change_url(part)).content.decode())
    assert shown["steps"] == shown["mappings"] == ""
    part.extra = {}  # other keys: empty is {}, shown empty too
    part.save(update_fields=["extra"])
    assert textareas(staff.get(change_url(part)).content.decode())["extra"] == ""


def test_no_page_shows_null_for_an_empty_part(staff, every_part) -> None:
    shown_null = []
    for model in part_models():
        for part in model.objects.all()[:5]:
            for name, text in textareas(staff.get(change_url(part)).content.decode()).items():
                if text.strip() == "null":
                    shown_null.append(f"{model.__name__} {part.pk} {name}")
    assert shown_null == []


# --------------------------------------------------------------------------- round trip


def stored() -> dict[str, object]:
    """Every row but the version stamp (which any save moves, so processes read again)."""
    state = database_state()
    del state["RegistryState"]
    return state


def test_saving_every_part_page_unchanged_changes_no_row(staff, every_part) -> None:
    """Open and save each kind of part's page as a browser would: nothing changes (not a
    value, not a capability's revision or edit mark)."""
    saved = 0
    for model in part_models():
        for part in model.objects.order_by("pk")[:3]:
            state = stored()
            response = edit(staff, part, {})
            assert response.status_code == 302, (model.__name__, errors_of(response))
            assert stored() == state, f"saving {model.__name__} {part.pk} changed rows"
            saved += 1
    assert saved >= 3 * 10


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        [],
        "",
        "plain",
        "{{FLEET_TOKEN}}",
        "null",
        "true",
        "123",
        "2026-05-19",
        "- not a list",
        "key: not a mapping",
        " leading and trailing ",
        "line one\nline two\n",
        "no final newline\nsecond",
        "trailing spaces  \nnext",
        "\n",
        "tab\tinside\nand a line",
        "carriage\r\nreturn",
        "lone\rreturn",
        "unicode ünïcødé \u2028 separator",
        0,
        -1.5,
        10**20,
        True,
        {"b": 1, "a": [None, {"z": "$.data[*].id", "y": 2.0}], "on": "yes"},
        [{"name": "result", "type": "object", "value": "$."}],
    ],
)
def test_any_json_value_reads_back_exactly(value) -> None:
    """What the page shows, posted back as a browser posts a textarea (CRLF), is the value."""
    field = YamlField(empty=None, required=False)
    shown = field.prepare_value(value)
    posted = shown.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    back = field.clean(posted)
    assert json.dumps(back) == json.dumps(value)
    assert not field.has_changed(value, posted)


def test_other_keys_empty_is_a_mapping_not_null() -> None:
    field = YamlField(empty={}, required=False)
    assert field.prepare_value({}) == ""
    assert field.clean("") == {}
    with pytest.raises(Exception, match="Leave it empty rather than null"):
        field.clean("null")


# --------------------------------------------------------------------------- edits


def test_an_edit_in_yaml_is_stored_as_its_json(staff, prefect) -> None:
    text = (
        "- name: total\n"
        "  type: number\n"
        "  mapping: $.amount\n"
        "- name: note\n"
        "  type: string\n"
        "  value: |\n"
        "    first line\n"
        "    second line\n"
    )
    part = tool(prefect)
    response = edit(staff, part, {"output_parameters": text.replace("\n", "\r\n")})
    assert response.status_code == 302, errors_of(response)
    part.refresh_from_db()
    assert part.output_parameters == [
        {"name": "total", "type": "number", "mapping": "$.amount"},
        {"name": "note", "type": "string", "value": "first line\nsecond line\n"},
    ]
    assert list(part.output_parameters[0]) == ["name", "type", "mapping"]  # order kept
    shown = textareas(staff.get(change_url(part)).content.decode())
    assert shown["output_parameters"] == text


def test_clearing_a_part_removes_it(staff, prefect) -> None:
    part = tool(prefect)
    response = edit(staff, part, {"output_parameters": ""})
    assert response.status_code == 302, errors_of(response)
    part.refresh_from_db()
    assert part.output_parameters is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param(
            "a: 1\nb: 2\n  c: 3\n",
            "Line 3, column 4: YAML syntax error: mapping values are not allowed in this context",
            id="syntax",
        ),
        pytest.param(
            "name: a\nname: b\n", "Line 2, column 1: duplicate key 'name' in a mapping", id="dup"
        ),
        pytest.param(
            "!!python/object:os.system x\n",
            "Line 1, column 1: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not "
            "allowed: only plain YAML (strings, numbers, booleans, null, lists, mappings) is read",
            id="tag",
        ),
    ],
)
def test_bad_yaml_names_its_line_and_column(staff, prefect, text, error) -> None:
    state = database_state()
    response = edit(staff, tool(prefect), {"output_parameters": text})
    assert errors_of(response) == [error]
    page = html.unescape(response.content.decode())
    assert error in page
    assert textareas(response.content.decode())["output_parameters"] == text  # kept as typed
    assert database_state() == state


def test_every_json_field_of_a_part_page_is_yaml(staff, every_part) -> None:
    """No part page falls back to Django's JSON textarea."""
    missing = []
    for model in part_models():
        part = model.objects.first()
        page = staff.get(change_url(part)).content.decode()
        names = set(form_fields(page))
        shown = textareas(page)
        for field in model._meta.get_fields():
            json_field = isinstance(field, models.JSONField) and field.name in names
            if json_field and field.name not in shown:
                missing.append(f"{model.__name__}.{field.name}")
    assert missing == []
