"""Forms of the admin: part editing that keeps what was written and checks ``with``
references (through ``checking``), the YAML upload, and client key grants (through
``clients``). A surface module: never imports ``api`` or ``mcp``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet

from capabilities_app.access import clients
from capabilities_app.core.errors import InvalidGrant
from capabilities_app.store import checking
from capabilities_app.store.models import CallingPart, ClientGrant
from capabilities_app.store.vocabulary import NAME_PATTERN


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

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
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


class CallerForm(PartForm):
    """A tool, REST operation or aggregate function: its ``with`` references (§3) must
    name parameters it declares (``checking.caller_errors``, the rule ``specs``
    applies to documents)."""

    instance: CallingPart  # the admin gives this form to calling parts only

    # Django's private hook after the instance is filled (not in django-stubs).
    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # the instance now holds the posted values
        if "with_values" not in self.cleaned_data:
            return
        for message in checking.caller_errors(self.instance):
            self.add_error("with_values", message)


class ParameterFormSet(BaseInlineFormSet):
    """Input parameters edited inline: renaming or deleting one that a ``with`` of the
    same page (or, on a REST resource's page, of its operations) references is refused."""

    instance: checking.ParameterOwner  # the parent whose parameters are edited

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        names = [
            form.cleaned_data["name"]
            for form in self.forms
            if form.cleaned_data
            # Django's own test of a form's DELETE box (private, not in django-stubs).
            and not self._should_delete_form(form)  # type: ignore[attr-defined]
            and form.cleaned_data.get("name")
        ]
        errors = checking.parameter_errors(self.instance, names)
        if errors:
            raise ValidationError(errors)


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

    # The metaclass moves declared fields into ``base_fields``: this does not replace
    # ``BaseForm.files`` (the uploaded files) on an instance, as django-stubs assumes.
    files = MultipleFileField(  # type: ignore[assignment]
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
    force = forms.BooleanField(
        required=False,
        label="Overwrite admin edits",
        help_text="Replace capabilities edited in the admin since their last import "
        "(without it, such an import fails and names the edits it would overwrite).",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("name") and len(cleaned.get("files") or []) > 1:
            self.add_error("name", "A name can only be given for a single file.")
        return cleaned


class ClientGrantForm(forms.ModelForm):
    """A grant of a client key, edited inline on the key's page: checked like the
    command's ``--grant`` (``clients.check_grant``)."""

    class Meta:
        model = ClientGrant
        fields = ("capability", "target", "rate_limit")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        capability = cleaned.get("capability")
        if capability:
            try:
                clients.check_grant(capability, cleaned.get("target") or "")
            except InvalidGrant as error:
                self.add_error(error.part, error.detail)
        return cleaned
