"""System checks (``manage.py check``, run by every command): settings that contradict,
and (``check --deploy``) settings that leave a production registry open.

Async jobs rely on three durations being ordered: an attempt ends (the upstream
timeout) before its lease does, and the lease ends before the broker hands the
message to another worker (the visibility timeout).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def job_durations(app_configs=None, **kwargs) -> list[Warning]:
    from capabilities_app.jobs.run import lease_seconds, visibility_timeout

    found = []
    lease, visibility = lease_seconds(), visibility_timeout()
    if lease <= settings.REGISTRY_UPSTREAM_TIMEOUT:
        found.append(
            Warning(
                f"REGISTRY_JOB_LEASE_SECONDS ({lease:g}) is not above "
                f"REGISTRY_UPSTREAM_TIMEOUT ({settings.REGISTRY_UPSTREAM_TIMEOUT:g})",
                hint="A slow attempt could outlive its lease and be run twice.",
                id="capabilities_app.W001",
            )
        )
    if settings.CELERY_BROKER_URL and lease >= visibility:
        found.append(
            Warning(
                f"REGISTRY_JOB_LEASE_SECONDS ({lease:g}) is not below the broker's "
                f"visibility timeout ({visibility:g}, CELERY_VISIBILITY_TIMEOUT)",
                hint="A job whose worker died would wait for its lease after redelivery.",
                id="capabilities_app.W002",
            )
        )
    return found


@register(deploy=True)
def open_surfaces(app_configs=None, **kwargs) -> list[Warning]:
    """``check --deploy``: a production registry that lets anyone spend its upstreams."""
    if settings.REGISTRY_REQUIRE_CLIENT_KEY:
        return []
    return [
        Warning(
            "REGISTRY_REQUIRE_CLIENT_KEY is false: anyone who reaches /rest/ or /mcp/ calls "
            "the upstreams with the credentials the capabilities hold",
            hint="Unset it (keys are required by default) and give each client a key "
            "(manage.py create_client_key); see docs/access.md.",
            id="capabilities_app.W003",
        )
    ]


@register()
def oauth_settings(app_configs=None, **kwargs) -> list[Warning]:
    """Half an OAuth configuration: tokens would be refused without saying why."""
    issuer = settings.REGISTRY_OAUTH_ISSUER
    url, path = settings.REGISTRY_OAUTH_JWKS_URL, settings.REGISTRY_OAUTH_JWKS_FILE
    problem = ""
    if issuer and not (url or path):
        problem = (
            "REGISTRY_OAUTH_ISSUER is set but neither REGISTRY_OAUTH_JWKS_URL nor "
            "REGISTRY_OAUTH_JWKS_FILE: access tokens are not accepted"
        )
    elif (url or path) and not issuer:
        problem = "a JWKS is set but REGISTRY_OAUTH_ISSUER is empty: access tokens are not accepted"
    elif url and not url.lower().startswith(("http://", "https://")):
        problem = "REGISTRY_OAUTH_JWKS_URL is not an http:// or https:// URL: every token gets 503"
    if not problem:
        return []
    return [Warning(problem, hint="See docs/access.md, OAuth 2.1.", id="capabilities_app.W004")]


@register(deploy=True)
def public_urls(app_configs=None, **kwargs) -> list[Warning]:
    """``check --deploy``: the surfaces' public URLs are what 401s and token audiences name."""
    return [
        Warning(
            f"{name} is {getattr(settings, name)!r}, not an https:// URL",
            hint="Set it to the surface's URL as clients reach it (behind the proxy): 401 "
            "challenges point there and access tokens name it as their audience.",
            id="capabilities_app.W005",
        )
        for name in ("REGISTRY_PUBLIC_URL", "REGISTRY_MCP_PUBLIC_URL")
        if not getattr(settings, name).lower().startswith("https://")
    ]


@register()
def rate_limit(app_configs=None, **kwargs) -> list[Error]:
    """REGISTRY_RATE_LIMIT must parse: every counted call reads it."""
    from capabilities_app.access.ratelimit import parse_rate
    from capabilities_app.core.errors import InvalidRate

    try:
        parse_rate(settings.REGISTRY_RATE_LIMIT)
    except InvalidRate as error:
        return [
            Error(
                f"REGISTRY_RATE_LIMIT: {error.detail}",
                hint="Write it as 600/minute (N/second, N/minute, N/hour or N/day), or off.",
                id="capabilities_app.E005",
            )
        ]
    return []


@register(deploy=True)
def request_like_environment(app_configs=None, **kwargs) -> list[Warning]:
    """``check --deploy``: granian starts every request's WSGI environ from the process
    environment, so a variable named ``HTTP_…`` reads as a header the client sent."""
    import os

    names = sorted(name for name in os.environ if name.startswith("HTTP_"))
    if not names:
        return []
    return [
        Warning(
            f"the environment holds {', '.join(names)}: under granian (the production server) "
            "each reads as a request header the client did not send",
            hint="Leave HTTP_* variables out of the web process environment (docs/deployment.md).",
            id="capabilities_app.W006",
        )
    ]


@register()
def mcp_registry_namespace(app_configs=None, **kwargs) -> list[Error]:
    """The MCP Registry API's server names start with it: the schema's pattern must hold."""
    import re

    value = settings.REGISTRY_MCP_NAMESPACE
    if re.fullmatch(r"[a-zA-Z0-9.-]+", value) and len(value) < 190:
        return []
    return [
        Error(
            f"REGISTRY_MCP_NAMESPACE {value!r} is not a reverse-DNS namespace",
            hint="Your domain reversed, letters, digits, '.' and '-' only "
            "(registry.example.com: com.example.registry); see docs/mcp-registry.md.",
            id="capabilities_app.E006",
        )
    ]
