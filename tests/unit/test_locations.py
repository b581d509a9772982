"""``locations``: the one rule for ``file://`` locations (issue 9 point 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from capabilities_app.core.locations import document_folder, location_path


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("file:///./notes/guide.md", "/docs/notes/guide.md"),
        ("file:///../shared/secrets.yaml", "/docs/../shared/secrets.yaml"),
        ("file://notes/guide.md", "/docs/notes/guide.md"),
        ("./notes/guide.md", "/docs/notes/guide.md"),
        ("notes/guide.md", "/docs/notes/guide.md"),
        ("file:///etc/registry/secrets.yaml", "/etc/registry/secrets.yaml"),
        ("/etc/registry/secrets.yaml", "/etc/registry/secrets.yaml"),
    ],
)
def test_locations_resolve_against_the_documents_folder(location, expected):
    """Issue 9 point 19: relative locations belong to the document's folder."""
    assert location_path(location, "/docs") == Path(expected)


def test_a_relative_location_without_a_folder_resolves_to_nothing():
    """Issue 9 point 19: never the process's working directory."""
    assert location_path("file:///./notes/guide.md", None) is None
    assert location_path("file:///abs/guide.md", None) == Path("/abs/guide.md")


@pytest.mark.parametrize(
    ("origin", "folder"),
    [
        ("/srv/capabilities/fleet.yaml", "/srv/capabilities"),
        ("fixtures/shipyard-fleet.yaml", "fixtures"),  # stored before origins were absolute
        ("shipyard-fleet.yaml", None),  # an upload: no folder
        ("registry:shipyard-fleet", None),
        ("", None),
    ],
)
def test_the_folder_of_a_stored_document(origin, folder):
    """Issue 9 point 19: imports store an absolute origin; uploads have no folder."""
    assert document_folder(origin) == folder
