"""The catalog's views: parse the request, call ``reading``, render a template.

Public pages (docs/catalog.md): they read with GET only and show no secret. A disabled
or unknown capability is the catalog's own 404 page. A surface module: never imports
``api``, ``mcp`` or ``admin``.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

from capabilities_app.catalog import reading
from capabilities_app.store.exporter import export_yaml

PAGE_SIZE = 20
MAX_SEARCH = 200


def _not_found(request: HttpRequest, name: str) -> HttpResponse:
    return render(request, "catalog/not_found.html", {"name": name}, status=404)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:MAX_SEARCH]
    tag = request.GET.get("tag", "").strip()[:MAX_SEARCH]
    page = Paginator(reading.listing(search, tag), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/index.html",
        {"page": page, "search": search, "tag": tag, "tags": reading.popular_tags()},
    )


@require_safe
def capability(request: HttpRequest, name: str) -> HttpResponse:
    found = reading.find_capability(name)
    if found is None:
        return _not_found(request, name)
    page = reading.capability_page(found)
    # Pygments escapes every character of the document it wraps in its spans.
    spec_html = mark_safe(  # noqa: S308 - the formatter's output is escaped HTML
        highlight(page.spec_yaml, YamlLexer(), HtmlFormatter(cssclass="highlight"))
    )
    edit_url = None
    if request.user.is_active and request.user.is_staff:
        edit_url = reverse("admin:capabilities_app_capability_change", args=[found.pk])
    return render(
        request,
        "catalog/capability.html",
        {"page": page, "capability": found, "spec_html": spec_html, "edit_url": edit_url},
    )


@require_safe
def spec_yaml(request: HttpRequest, name: str) -> HttpResponse:
    """The exported document, the bytes ``manage.py export_capability NAME`` writes."""
    found = reading.find_capability(name)
    if found is None:
        return _not_found(request, name)
    response = HttpResponse(
        export_yaml(found).encode("utf-8"), content_type="application/yaml; charset=utf-8"
    )
    disposition = content_disposition_header(as_attachment=True, filename=f"{found.name}.yaml")
    response["Content-Disposition"] = disposition or "attachment"
    return response
