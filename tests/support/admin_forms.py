"""Driving admin change forms as a browser would: scrape the form, change fields, post."""

from __future__ import annotations

from html.parser import HTMLParser

from django.test import Client
from django.urls import reverse

APP = "capabilities_app"


class _FormFields(HTMLParser):
    """The controls a browser would submit for the form whose id ends in ``_form``.

    Unchecked checkboxes and radios are left out, a select sends its selected options
    (or its first one when none is selected), a textarea its text without the one
    newline that follows its start tag and with CRLF line breaks (as browsers send
    them), and disabled controls, buttons and file inputs send nothing.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.found = False
        self._in_form = False
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        if tag == "form" and (attrs.get("id") or "").endswith("_form"):
            self._in_form = self.found = True
            return
        if not self._in_form:
            return
        disabled = "disabled" in attrs
        name = attrs.get("name")
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if not name or disabled or kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    value = attrs.get("value")
                    self.fields.append((name, "on" if value is None else value))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "select":
            self._select = {
                "name": None if disabled else name,
                "multiple": "multiple" in attrs,
                "options": [],
            }
        elif tag == "option" and self._select is not None:
            self._option = {
                "value": attrs.get("value"),
                "selected": "selected" in attrs,
                "disabled": disabled,
                "text": [],
            }
        elif tag == "textarea":
            self._textarea = {"name": None if disabled else name, "text": []}

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option["text"].append(data)
        elif self._textarea is not None:
            self._textarea["text"].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
        elif tag == "option" and self._option is not None:
            self._end_option()
        elif tag == "select" and self._select is not None:
            self._end_option()
            select, self._select = self._select, None
            options = [o for o in select["options"] if not o["disabled"]]
            chosen = [o["value"] for o in options if o["selected"]]
            if not chosen and not select["multiple"] and options:
                chosen = [options[0]["value"]]
            if select["name"]:
                self.fields.extend((select["name"], value) for value in chosen)
        elif tag == "textarea" and self._textarea is not None:
            textarea, self._textarea = self._textarea, None
            text = "".join(textarea["text"])
            if text.startswith("\n"):
                text = text[1:]
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")  # as browsers send it
            if textarea["name"]:
                self.fields.append((textarea["name"], text))

    def _end_option(self) -> None:
        if self._option is None or self._select is None:
            return
        option, self._option = self._option, None
        if option["value"] is None:
            option["value"] = "".join(option["text"]).strip()
        self._select["options"].append(option)


def form_fields(html: str) -> dict[str, list[str]]:
    """The change form's fields as POST data: name → every value the browser would send."""
    parser = _FormFields()
    parser.feed(html)
    parser.close()
    assert parser.found, "the page has no form whose id ends in _form"
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def change_url(obj) -> str:
    return reverse(f"admin:{APP}_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_url(model) -> str:
    return reverse(f"admin:{APP}_{model._meta.model_name}_changelist")


def edit(client: Client, obj, changes: dict[str, str]):
    """GET ``obj``'s change page, change ``changes`` in its form, POST it back (Save)."""
    page = client.get(change_url(obj))
    assert page.status_code == 200
    data = form_fields(page.content.decode())
    for name, value in changes.items():
        assert name in data, f"{name!r} is not a field of the {obj._meta.model_name} form"
        data[name] = [value]
    data["_save"] = ["Save"]
    return client.post(change_url(obj), data)
