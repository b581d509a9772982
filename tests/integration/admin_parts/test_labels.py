"""Point 5 of issue 14: every control a person can reach on a part page has a name for
assistive technology: a ``<label for>``, an enclosing ``<label>``, or an ``aria-label``
(inline rows sit in table cells, which have no labels: "Name (tool 3)")."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from capabilities_app.store import models as m
from tests.support.admin_forms import change_url, changelist_url

from .conftest import generated, part_models

pytestmark = pytest.mark.django_db

UNLABELLED_TYPES = {"hidden", "submit", "button", "image", "reset"}


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self._in_label = 0

    def handle_starttag(self, tag: str, attr_list) -> None:
        attrs = dict(attr_list)
        if tag == "label":
            self._in_label += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and (attrs.get("type") or "text").lower() in UNLABELLED_TYPES:
                return
            self.controls.append({**attrs, "tag": tag, "in_label": "1" if self._in_label else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._in_label:
            self._in_label -= 1


def unlabelled(page: str) -> list[str]:
    parser = _Controls()
    parser.feed(page)
    return [
        f"{c['tag']} name={c.get('name')} id={c.get('id')}"
        for c in parser.controls
        if not (
            c.get("aria-label")
            or c.get("aria-labelledby")
            or c["in_label"]
            or (c.get("id") and c["id"] in parser.label_for)
        )
    ]


def test_the_parser_sees_an_unlabelled_control() -> None:
    page = '<label for="a">A</label><input id="a"><input name="b"><label><input name="c"></label>'
    assert unlabelled(page) == ["input name=b id=None"]


def test_the_pages_of_a_generated_capability(staff) -> None:
    capability = generated(10)
    mcp = capability.exposes.get(type="mcp")
    rest = capability.exposes.get(type="rest")
    tool = m.Tool.objects.filter(expose=mcp).first()
    operation = m.ExposedOperation.objects.filter(resource__expose=rest).first()
    consumed = m.ConsumedOperation.objects.filter(resource__consumes__capability=capability).first()
    urls = [
        reverse("admin:index"),
        *(change_url(p) for p in (mcp, rest, tool, operation, operation.resource)),
        *(change_url(p) for p in (capability.consumes.get(), consumed, consumed.resource)),
        changelist_url(m.Tool),
        changelist_url(m.ExposedOperation),
        change_url(capability),
        reverse("admin:capabilities_app_clientkey_add"),
    ]
    found = {}
    for url in urls:
        response = staff.get(url)
        assert response.status_code == 200
        missing = unlabelled(response.content.decode())
        if missing:
            found[url] = missing
    assert found == {}


def test_every_part_page(staff, every_part) -> None:
    found = {}
    for model in part_models():
        part = model.objects.order_by("pk").last()
        missing = unlabelled(staff.get(change_url(part)).content.decode())
        if missing:
            found[model.__name__] = missing
    assert found == {}


def test_inline_rows_name_field_and_row(staff) -> None:
    capability = generated(10)
    mcp = capability.exposes.get(type="mcp")
    page = staff.get(change_url(mcp)).content.decode()
    assert 'aria-label="Name (tool 3)"' in page
    assert 'aria-label="Call (tool 10)"' in page
    assert 'aria-label="Delete (tool 1)"' in page
    assert 'aria-label="Name (new tool)"' in page  # the row "Add another" copies
