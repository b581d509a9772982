"""Forms of the admin: part editing that keeps what was written, and the YAML upload."""

from __future__ import annotations

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from .layout import NAME_PATTERN


class PartForm(forms.ModelForm):
    """A model form that keeps optional text absent, or written empty, as it was.

    Optional text fields are nullable: ``NULL`` is "key absent", ``""`` is "written
    empty" (``baseUri: ''`` in many catalog files). A form posts both as an empty
    string, which Django cleans to ``None`` for a ``CharField`` but to ``""`` for a
    ``TextField``. Without this, saving any field of a page would drop every ``''``
    of its char fields and write ``''`` for every absent text field (``description``).
    So an empty value stays ``""`` if it was ``""``, and is ``None`` (absent) otherwise.

    Multi-line text is kept as written too: browsers send a textarea's line breaks
    as CRLF, and Django strips surrounding whitespace (the final newline of a ``|``
    block); either would rewrite the text of every page saved in a browser.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if type(field) is forms.CharField and isinstance(field.widget, forms.Textarea):
                field.strip = False

    def clean(self) -> dict:
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            try:
                field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:  # a form-only field
                continue
            if not isinstance(field, models.CharField | models.TextField):
                continue
            if isinstance(value, str) and "\r\n" in value:
                value = cleaned[name] = value.replace("\r\n", "\n")
            if field.null and value in (None, ""):
                cleaned[name] = "" if getattr(self.instance, name, None) == "" else None
        return cleaned


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files (Django's documented recipe).

    The recipe cleans each file on its own, so a post with no file at all (an empty
    list) would pass a required field; here it is refused as required.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            if not data and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class ImportYamlForm(forms.Form):
    """The admin's Import YAML page: the same options as ``import_capability``."""

    files = MultipleFileField(
        label="YAML documents",
        help_text="One or more Naftiko capability documents (.yaml/.yml). `import` "
        "references resolve against shared consumes documents already in the registry.",
    )
    name = forms.RegexField(
        regex=NAME_PATTERN,
        required=False,
        help_text="Registry name (one file only). Default: the file name without extension.",
    )
    strict = forms.BooleanField(
        required=False, help_text="Require the official JSON Schema to pass."
    )
    dry_run = forms.BooleanField(required=False, help_text="Check and report; write nothing.")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("name") and len(cleaned.get("files") or []) > 1:
            self.add_error("name", "A name can only be given for a single file.")
        return cleaned
