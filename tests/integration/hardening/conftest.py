"""Fixtures of the hardening tests (issue 9): each finding of the outside review, tried
from outside, against a real upstream on 127.0.0.1 (and a real MCP client where it
concerns MCP). The REST surface's fixtures are shared with ``tests/integration/rest``.
"""

from __future__ import annotations

from tests.integration.rest.conftest import api, load  # noqa: F401 - fixture and helper
