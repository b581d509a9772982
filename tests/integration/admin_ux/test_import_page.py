"""The Import YAML page and the actions (issue 14 point 4): results grouped per file,
long lines wrap, strict-mode errors grouped by path like lenient warnings, and the
validate action names the capability as it is written."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from capabilities_app.store import models as m
from tests.conftest import NETBIRD, PREFECT, SHIPYARD, database_state
from tests.integration.admin_ux.conftest import import_file

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:capabilities_app_capability_import")


def upload(path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/yaml")


def results_of(page: str) -> list[dict]:
    """Each result: its file heading, bold line, and its error and warning blocks."""
    listed = re.search(r'<ul id="import-results">(.*?)</ul>', page, re.S)
    assert listed
    results = []
    for item in re.findall(r"<li class=\"import-\w+\">(.*?)</li>", listed.group(1), re.S):
        results.append(
            {
                "file": html.unescape(
                    re.search(r'<h3 class="import-file">(.*?)</h3>', item).group(1)
                ),
                "line": html.unescape(re.search(r"<strong>(.*?)</strong>", item).group(1)),
                "errors": [
                    html.unescape(b).strip().splitlines()
                    for b in re.findall(
                        r'<pre class="import-errors errornote">(.*?)</pre>', item, re.S
                    )
                ],
                "warnings": [
                    html.unescape(b).strip().splitlines()
                    for b in re.findall(r'<pre class="import-warnings">(.*?)</pre>', item, re.S)
                ],
            }
        )
    return results


def test_results_are_grouped_per_file(staff) -> None:
    response = staff.post(IMPORT_URL, {"files": [upload(PREFECT), upload(NETBIRD)]})
    page = response.content.decode()
    prefect, netbird = results_of(page)
    assert prefect["file"] == PREFECT.name and netbird["file"] == NETBIRD.name
    assert prefect["line"].startswith("created prefect-account-billing")
    assert netbird["line"].startswith("created netbird-checkout")
    # Each file's warnings under it, every line naming that file.
    for result in (prefect, netbird):
        (block,) = result["warnings"]
        assert block and all(line.startswith(f"warning: {result['file']}:") for line in block)
    # The page's stylesheet wraps results and long errors rather than clipping them.
    assert "capabilities_app/admin/capability.css" in page
    css = Path(finders.find("capabilities_app/admin/capability.css")).read_text()
    assert re.search(r"#import-results pre[^{]*\{[^}]*white-space: pre-wrap", css)
    assert re.search(r"#import-results pre[^{]*\{[^}]*overflow-wrap: anywhere", css)


def test_strict_errors_are_grouped_by_path(staff) -> None:
    state = database_state()
    response = staff.post(IMPORT_URL, {"files": [upload(PREFECT)], "strict": "on"})
    (result,) = results_of(response.content.decode())
    assert result["line"] == "failed prefect-account-billing"
    (errors,) = result["errors"]
    assert errors[0].startswith(
        "prefect-account-billing.yaml:19:5: capability.consumes[0].baseUri: "
    )
    # Prefect's 8 operations repeat the same schema deviations: one line per rule and
    # place, "and N more like it", not one line per operation.
    assert len(errors) < 39
    assert any(re.search(r"\(and \d+ more like it\)$", line) for line in errors), errors
    assert len(errors) == len(set(errors))
    assert database_state() == state


def test_the_validate_action_names_the_capability_as_written(staff) -> None:
    import_file(PREFECT)
    import_file(SHIPYARD)
    response = staff.post(
        reverse("admin:capabilities_app_capability_changelist"),
        {
            "action": "validate_action",
            "_selected_action": [c.pk for c in m.Capability.objects.all()],
        },
        follow=True,
    )
    page = html.unescape(response.content.decode())
    shown = re.findall(r'<ul class="messagelist">(.*?)</ul>', page, re.S)[0]
    # The admin capitalises a message's first letter: the name is not first, so it
    # reads as written, never "Prefect-account-billing".
    assert "Validated “prefect-account-billing”: valid with " in shown
    assert "Validated “shipyard-fleet”: valid (strict)" in shown
    assert "Prefect-account-billing" not in shown and "Shipyard-fleet" not in shown
    assert ".yaml" not in shown  # a name, not a file path
