"""The system check of the OAuth settings (issue 10 point 3): half a configuration is said."""

from __future__ import annotations

import pytest

from capabilities_app.checks import oauth_settings


@pytest.mark.parametrize(
    ("issuer", "url", "path", "says"),
    [
        ("https://idp.example/", "", "", "neither REGISTRY_OAUTH_JWKS_URL"),
        ("", "https://idp.example/jwks.json", "", "REGISTRY_OAUTH_ISSUER is empty"),
        ("", "", "/etc/jwks.json", "REGISTRY_OAUTH_ISSUER is empty"),
        ("https://idp.example/", "file:///etc/jwks.json", "", "http:// or https://"),
    ],
)
def test_half_an_oauth_configuration_is_a_warning(settings, issuer, url, path, says):
    """Issue 10 point 3: tokens are silently not accepted otherwise: W004 says why."""
    settings.REGISTRY_OAUTH_ISSUER = issuer
    settings.REGISTRY_OAUTH_JWKS_URL = url
    settings.REGISTRY_OAUTH_JWKS_FILE = path
    (warning,) = oauth_settings()
    assert warning.id == "capabilities_app.W004"
    assert says in warning.msg


@pytest.mark.parametrize(
    ("issuer", "url", "path"),
    [
        ("", "", ""),
        ("https://idp.example/", "https://idp.example/jwks.json", ""),
        ("https://idp.example/", "", "/etc/jwks.json"),
    ],
)
def test_off_or_whole_is_quiet(settings, issuer, url, path):
    """Issue 10 point 3: OAuth off, or configured, passes the check."""
    settings.REGISTRY_OAUTH_ISSUER = issuer
    settings.REGISTRY_OAUTH_JWKS_URL = url
    settings.REGISTRY_OAUTH_JWKS_FILE = path
    assert oauth_settings() == []
