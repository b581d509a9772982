"""Fixtures of the access tests: the REST surface's ``api`` client, a trusted issuer."""

import pytest

from capabilities_app.access import oauth
from tests.integration.rest.conftest import api  # noqa: F401 - a fixture, used by name
from tests.support.identity import IdentityProvider


@pytest.fixture
def idp(settings):
    """The issuer the registry trusts, its JWKS fetched over HTTP from 127.0.0.1."""
    provider = IdentityProvider().start()
    settings.REGISTRY_OAUTH_ISSUER = provider.issuer
    settings.REGISTRY_OAUTH_JWKS_URL = provider.jwks_url
    settings.REGISTRY_OAUTH_JWKS_FILE = ""
    oauth.reset()
    yield provider
    oauth.reset()
    provider.stop()
