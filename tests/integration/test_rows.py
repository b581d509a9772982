"""The row loader answers by model class, and refuses a part or parent it does not know."""

from __future__ import annotations

import pytest

from capabilities_app.store.models import Bind, Capability, Tool, ToolParameter
from capabilities_app.store.rows import Rows
from tests.conftest import SHIPYARD, run_command

pytestmark = pytest.mark.django_db


class TestTypedRowAccess:
    def test_rows_are_read_by_model_class(self):
        """Issue 11 point 3: rows are asked for by model class, and come back as that model."""
        run_command("import_capability", str(SHIPYARD))
        rows = Rows({"__enabled": True})
        tools = rows.all(Tool)
        assert tools
        assert all(isinstance(tool, Tool) for tool in tools)
        tool = tools[0]
        params = rows.children_of(ToolParameter, "tool", tool.pk)
        assert [p.name for p in params] == [
            p.name for p in ToolParameter.objects.filter(tool=tool).order_by("position", "id")
        ]
        assert rows.get(Tool, tool.pk) is tool
        assert rows.find(Tool, None) is None

    def test_an_unknown_part_or_parent_raises_instead_of_answering_nothing(self):
        """Issue 11 point 3: a typo in what is asked for raises, it does not return []."""
        rows = Rows({"__enabled": True})
        with pytest.raises(LookupError, match="Capability is not a part"):
            rows.all(Capability)
        with pytest.raises(LookupError, match="ToolParameter has no parent 'expose'"):
            rows.children_of(ToolParameter, "expose", 1)
        with pytest.raises(LookupError, match="Bind has no parent 'capabilty'"):
            rows.children_of(Bind, "capabilty", 1)
        with pytest.raises(KeyError):
            rows.get(Tool, 1)
