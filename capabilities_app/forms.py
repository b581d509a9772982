"""Forms of the admin: part editing that keeps what was written, and the YAML upload."""

from __future__ import annotations

from django import forms
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
    """

    def clean(self) -> dict:
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if value is not None and value != "":
                continue
            try:
                field = self._meta.model._meta.get_field(name)
            except Exception:  # noqa: S112 - form-only fields have no model field
                continue
            if isinstance(field, models.CharField | models.TextField) and field.null:
                cleaned[name] = "" if getattr(self.instance, name, None) == "" else None
        return cleaned


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files (Django's documented recipe)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
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
