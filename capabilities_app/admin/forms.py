"""Forms of the admin: part editing that keeps what was written and checks ``with``
references (through ``checking``), JSON parts edited as YAML (``YamlField``), the YAML
upload, and client key grants (through ``clients``). A surface module: never imports
``api`` or ``mcp``."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any, ClassVar

import yaml
from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet

from capabilities_app.access import clients
from capabilities_app.core.errors import InvalidGrant, SpecError
from capabilities_app.store import checking
from capabilities_app.store.loader import parse_source
from capabilities_app.store.models import CallingPart, ClientGrant
from capabilities_app.store.vocabulary import NAME_PATTERN

# --------------------------------------------------------------------------- JSON parts as YAML

if TYPE_CHECKING:
    _BaseDumper = yaml.SafeDumper
else:  # libyaml's emitter, when PyYAML was built with it (as the exporter)
    _BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Characters a textarea would not give back as they are (a browser posts every line break
# as CRLF) or a YAML reader reads as a line break: such strings are written double-quoted,
# with escapes.
_ESCAPED = frozenset("\r\x85\u2028\u2029\x7f") | {chr(c) for c in range(32) if chr(c) not in "\n\t"}


class _Dumper(_BaseDumper):
    """Block style throughout; multi-line strings as literal blocks (as the export)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if any(ch in _ESCAPED for ch in value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def yaml_text(value: Any) -> str:
    """``value`` (JSON data) as YAML text that reads back as exactly ``value``."""
    text = yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**9)
    if text.endswith("\n...\n"):  # a lone scalar's document end marker
        text = text[: -len("...\n")]
    return text


class YamlText(str):
    """Text as it was posted (shown again as it was written, valid or not)."""


class YamlTextarea(forms.Textarea):
    """A monospace textarea as tall as its text (2 to 30 lines)."""

    class Media:
        css: ClassVar[dict[str, list[str]]] = {"all": ["capabilities_app/admin-parts.css"]}

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"class": "yaml-field", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        lines = (value or "").count("\n") + 1
        context["widget"]["attrs"]["rows"] = max(2, min(30, lines + 1))
        return context


class YamlField(forms.JSONField):
    """A JSON part (steps, mappings, output parameters, schemas, other keys, …) edited
    as YAML, read by the importer's reader (``loader.parse_source``: plain YAML only,
    duplicate keys refused, timestamps kept as text).

    The field's empty value (``None``, or ``{}`` for other keys) is shown empty, never
    ``null``; an empty textarea saves it back. Anything else is written so it reads back
    exactly as stored: opening a page and saving it changes nothing. Bad YAML is a form
    error naming its line and column in the textarea.
    """

    widget = YamlTextarea

    def __init__(self, *, empty: Any = None, **kwargs) -> None:
        kwargs.setdefault("widget", YamlTextarea)
        super().__init__(**kwargs)
        self.strip = False
        self.empty = empty

    def _empty(self) -> Any:
        return copy.deepcopy(self.empty)

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return value
        if value is None or not str(value).strip():
            return self._empty()
        text = str(value).replace("\r\n", "\n")
        try:
            data = parse_source(
                text, origin="field", max_bytes=settings.REGISTRY_MAX_DOCUMENT_BYTES
            ).data
        except SpecError as error:
            first = error.diagnostics[0]
            raise forms.ValidationError(
                "Line %(line)s, column %(column)s: %(message)s",
                code="invalid",
                params={"line": first.line, "column": first.column, "message": first.message},
            ) from error
        if data is None:
            if self.empty is not None:
                raise forms.ValidationError("Leave it empty rather than null.", code="null")
            return None
        return data

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled:
            return initial
        return None if data is None else YamlText(data)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, YamlText):
            return value
        if value is None or value == self.empty:
            return ""
        return yaml_text(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        try:
            value = self.to_python(data)
        except forms.ValidationError:
            return True
        return json.dumps(initial) != json.dumps(value)


class KnownAutocompleteSelect(AutocompleteSelect):
    """An autocomplete select that names its chosen object without a query when the
    form already holds it (``known``: the instance's related object, loaded with
    ``select_related``). One query per row otherwise: a page of a hundred tools ran a
    hundred and more for its ``call`` selects."""

    known: Any = None

    def optgroups(self, name, value, attr=None):
        chosen = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        known = self.known
        if known is None or chosen != [str(known.pk)]:
            return super().optgroups(name, value, attr)
        options: list[dict[str, Any]] = []
        if not self.is_required:
            options.append(self.create_option(name, "", "", False, 0))
        label = self.choices.field.label_from_instance(known)
        options.append(self.create_option(name, known.pk, label, True, len(options)))
        return [(None, options, 0)]


# --------------------------------------------------------------------------- part forms


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
        for name, field in self.fields.items():
            if type(field) is forms.CharField and isinstance(field.widget, forms.Textarea):
                field.strip = False
            widget = getattr(field.widget, "widget", field.widget)  # inside the admin's wrapper
            if isinstance(widget, KnownAutocompleteSelect):
                related = self._meta.model._meta.get_field(name)
                if related.is_cached(self.instance):
                    widget.known = related.get_cached_value(self.instance)

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
