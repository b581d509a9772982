"""Fixtures of the access tests: the REST surface's ``api`` client."""

from tests.integration.rest.conftest import api  # noqa: F401 - a fixture, used by name
