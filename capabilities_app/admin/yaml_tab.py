"""The capability's "Edit as YAML" tab: the whole document, as exported, in one editor.

The page is a plain form with a labelled ``<textarea>`` (it works without JavaScript);
``yaml-editor.js`` puts the vendored Ace editor (django-ace's static files, no CDN) over
it, with line numbers, YAML highlighting and the errors as gutter annotations, and
copies the text back on submit. Saving calls ``store.replacing`` (the importer, one
transaction, nothing written on error). Errors are listed above the editor as
``LINE:COLUMN``; warnings of a save become messages. A surface module: it imports the
domain (``store``), never ``api``, ``mcp`` or ``catalog``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from capabilities_app.core.errors import Diagnostic
from capabilities_app.store import models as m
from capabilities_app.store.exporter import export_yaml
from capabilities_app.store.replacing import replace_document
from capabilities_app.store.reporting import grouped

__all__ = ["YamlDocumentForm", "yaml_view"]

SHOWN_WARNINGS = 20  # warning messages after a save before "and N more"


class YamlDocumentForm(forms.Form):
    document = forms.CharField(
        label="Document (YAML)",
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 30,
                "cols": 100,
                "spellcheck": "false",
                "autocapitalize": "off",
                "autocomplete": "off",
                "class": "yaml-source",
                "aria-describedby": "yaml-help",
            }
        ),
    )


def _error_entry(diagnostic: Diagnostic, origin: str) -> dict[str, Any]:
    here = diagnostic.origin == origin
    return {
        "here": here,
        "where": f"{diagnostic.line}:{diagnostic.column}" if here else str(diagnostic.origin),
        "line": diagnostic.line,
        "column": diagnostic.column,
        "key_path": diagnostic.key_path,
        "message": diagnostic.message,
    }


def _annotations(entries: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Ace's gutter annotations (rows and columns from 0)."""
    return [
        {
            "row": max(e["line"] - 1, 0),
            "column": max(e["column"] - 1, 0),
            "text": f"{e['key_path']}: {e['message']}",
            "type": kind,
        }
        for e in entries
        if e["here"]
    ]


def _saved_messages(model_admin, request: HttpRequest, replacement) -> None:
    outcome = replacement.outcome
    if outcome.status == "unchanged":
        model_admin.message_user(
            request,
            f"{outcome.name}: no change, the document is what the registry holds.",
            messages.INFO,
        )
    else:
        model_admin.message_user(
            request,
            f"Saved “{outcome.name}” from its YAML ({outcome.operations} operations, "
            f"{outcome.tools} tools); REST and MCP serve it now.",
            messages.SUCCESS,
        )
    groups = list(grouped(replacement.warnings))
    for first, more in groups[:SHOWN_WARNINGS]:
        where = f"line {first.line}:{first.column}" if first.origin == replacement.origin else ""
        suffix = f" (and {more} more like it)" if more else ""
        model_admin.message_user(
            request,
            f"Warning at {where or first.origin}: {first.key_path}: {first.message}{suffix}",
            messages.WARNING,
        )
    if len(groups) > SHOWN_WARNINGS:
        model_admin.message_user(
            request, f"… and {len(groups) - SHOWN_WARNINGS} more warnings.", messages.WARNING
        )


def yaml_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the document in the editor. POST: replace the capability by it."""
    capability = get_object_or_404(m.Capability, pk=pk)
    if not model_admin.has_view_permission(request, capability):
        return HttpResponse(status=403)
    can_change = model_admin.has_change_permission(request, capability)
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    if request.method == "POST":
        if not can_change:
            return HttpResponse(status=403)
        form = YamlDocumentForm(request.POST)
        if form.is_valid():
            text = form.cleaned_data["document"].replace("\r\n", "\n")
            replacement = replace_document(
                capability, text, max_bytes=settings.REGISTRY_MAX_DOCUMENT_BYTES
            )
            if replacement.ok:
                _saved_messages(model_admin, request, replacement)
                change = reverse("admin:capabilities_app_capability_change", args=[pk])
                return HttpResponseRedirect(change)
            errors = [_error_entry(d, replacement.origin) for d in replacement.errors]
            warnings = [_error_entry(d, replacement.origin) for d in replacement.warnings]
            model_admin.message_user(
                request,
                f"“{capability.name}” was not saved: {len(errors)} "
                f"error{'s' if len(errors) != 1 else ''} in the document; nothing was written.",
                messages.ERROR,
            )
    else:
        form = YamlDocumentForm(initial={"document": export_yaml(capability)})
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Edit {capability.name} as YAML",
        "opts": model_admin.model._meta,
        "original": capability,
        "form": form,
        "can_change": can_change,
        "yaml_errors": errors,
        "yaml_warnings": warnings,
        "annotations": _annotations(errors, "error") + _annotations(warnings, "warning"),
    }
    return TemplateResponse(request, "admin/capabilities_app/capability/yaml.html", context)
