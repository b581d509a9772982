"""Settings of capability-registry, read from the environment with django-environ.

Every variable is listed in ``.env.example`` and in the README's environment table.
Development defaults are safe: SQLite in the project folder, no broker (Celery runs
eagerly), and no default ``SECRET_KEY`` unless ``DEBUG`` is on.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env file is optional; real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-only-for-debug")
else:
    # No default: a production process without a key must not start. manage.py prints
    # this message alone (no traceback); it says how to fix it.
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off. For local use run `make install` "
            "(it writes a .env with DEBUG=true and a generated SECRET_KEY); in production "
            "set SECRET_KEY in the environment (see the README's production section)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# --- HTTPS in production (the README's production environment; all off by default, so a
# development server over plain HTTP works; ``manage.py check --deploy`` names each one).
# The header (and value) a TLS-terminating proxy sets, e.g. HTTP_X_FORWARDED_PROTO,https.
# Trust it only when nothing but that proxy can reach the server.
SECURE_PROXY_SSL_HEADER = env.tuple("SECURE_PROXY_SSL_HEADER", default=None) or None
if SECURE_PROXY_SSL_HEADER is not None and len(SECURE_PROXY_SSL_HEADER) != 2:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER is 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https"
    )
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
# Strict-Transport-Security: seconds browsers keep to HTTPS (0: no header).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Origins (scheme://host) whose form posts are accepted besides the request's own host.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # django.contrib.admin, with the registry's admin site (its index order, autocomplete labels).
    "capabilities_app.apps.RegistryAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_ace",  # the admin's YAML editor: Ace as static files, no CDN (docs/admin.md)
    "capabilities_app",
]

MIDDLEWARE = [
    # First: requests under /rest/ leave here for REST_MIDDLEWARE, the short chain below
    # (issue 12 point 3; capabilities_app/api/shortpath.py); all others go on.
    "capabilities_app.api.shortpath.RestShortPath",
    # Outermost: REST and jobs answers (errors included) are sandboxed (issue 9, point 9).
    "capabilities_app.api.sandbox.SandboxSurfaces",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees a view's exception first: a database outage is 503 problem+json.
    "capabilities_app.api.middleware.DatabaseUnavailableMiddleware",
]

# The REST surface's chain: MIDDLEWARE without what serves browsers only (sessions, CSRF,
# authentication, messages). Callers send a client key or a token; the view checks them.
# Kept: the sandbox, HTTPS and security headers, the host check and Content-Length
# (CommonMiddleware), X-Frame-Options, and the database-outage answer.
REST_MIDDLEWARE = [
    "capabilities_app.api.sandbox.SandboxSurfaces",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "capabilities_app.api.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "registry.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "registry.wsgi.application"
ASGI_APPLICATION = "registry.asgi.application"

# An empty DATABASE_URL means the default, as if it were unset.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep connections open between requests and tasks (a new PostgreSQL connection costs
# milliseconds; the jobs API and the workers query on every call), checked before reuse.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # An unreachable database host (a failover, a dead address) must fail a connection
    # attempt in seconds, not after the system's TCP timeout of minutes (libpq's option;
    # a connect_timeout in DATABASE_URL's query wins).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while an import writes; a short busy timeout
    # turns brief lock contention into a wait instead of an error. Transactions take
    # the write lock when they begin (IMMEDIATE): a transaction that reads and then
    # writes (a job submission) would otherwise fail at once with "database is locked"
    # when another writer holds the lock, since SQLite cannot wait on a lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default="") or str(BASE_DIR / "var" / "static")

# A capability page in the admin posts one field per inline cell; large
# capabilities have thousands. The documents themselves are capped below.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=20_000)

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "capabilities_app.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Only schema generation reads it (the registry API's /api/v1/schema/).
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The registry API's OpenAPI document (/api/v1/schema/) and its Swagger UI and Redoc,
# with their assets from drf-spectacular-sidecar (static files; no CDN). docs/registry-api.md
SPECTACULAR_SETTINGS = {
    "TITLE": "Capability registry API",
    "DESCRIPTION": "List, read, import, replace, export, validate and delete capabilities "
    "(docs/registry-api.md).",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "PREPROCESSING_HOOKS": ["capabilities_app.api.registry.schema.only_registry_api"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or None
# No broker means the embedded default: tasks run in the calling process.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # jobs keep their own results (the Job model)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="registry")
# Redis hands an unacknowledged message to another worker after this many seconds;
# every retry countdown stays below it (jobs.backoff).
# More transport options (e.g. unacked_restore_interval) as JSON in the environment.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
    **env.json("CELERY_BROKER_TRANSPORT_OPTIONS", default={}),
}
# A broker that is down must not hang the request that publishes: fail fast (503).
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "expire-jobs": {"task": "capabilities_app.expire_jobs", "schedule": 3600.0},
    "requeue-jobs": {"task": "capabilities_app.requeue_jobs", "schedule": 60.0},
}

# --- The registry -------------------------------------------------------------
# Largest capability document (bytes) the importer reads; larger ones are refused.
REGISTRY_MAX_DOCUMENT_BYTES = env.int("REGISTRY_MAX_DOCUMENT_BYTES", default=2 * 1024 * 1024)
# Whole upstream exchange, and connection, time limits (seconds).
REGISTRY_UPSTREAM_TIMEOUT = env.float("REGISTRY_UPSTREAM_TIMEOUT", default=30.0)
REGISTRY_UPSTREAM_CONNECT_TIMEOUT = env.float("REGISTRY_UPSTREAM_CONNECT_TIMEOUT", default=5.0)
# Non-public networks upstreams may live in (CIDRs); all others must be public addresses.
REGISTRY_UPSTREAM_ALLOWED_NETWORKS = env.list("REGISTRY_UPSTREAM_ALLOWED_NETWORKS", default=[])
# Largest request body (bytes) a REST call may send; larger ones get 413.
REGISTRY_MAX_BODY_BYTES = env.int("REGISTRY_MAX_BODY_BYTES", default=10 * 1024 * 1024)
# Largest upstream answer (bytes, decoded) the registry reads, mapped or passed through;
# larger ones are 502 upstream_too_large and their connection is dropped (docs/limits.md).
REGISTRY_MAX_UPSTREAM_BYTES = env.int("REGISTRY_MAX_UPSTREAM_BYTES", default=10 * 1024 * 1024)
# Async jobs: how long results are kept, their size cap, retries and the first backoff.
REGISTRY_JOB_RESULT_TTL = env.int("REGISTRY_JOB_RESULT_TTL", default=24 * 3600)
REGISTRY_JOB_RESULT_MAX_BYTES = env.int("REGISTRY_JOB_RESULT_MAX_BYTES", default=1024 * 1024)
REGISTRY_JOB_MAX_RETRIES = env.int("REGISTRY_JOB_MAX_RETRIES", default=3)
REGISTRY_JOB_RETRY_BASE_SECONDS = env.float("REGISTRY_JOB_RETRY_BASE_SECONDS", default=1.0)
# How long a worker holds a running job (above REGISTRY_UPSTREAM_TIMEOUT, below the
# visibility timeout); and after how long a queued job's message counts as lost.
REGISTRY_JOB_LEASE_SECONDS = env.float("REGISTRY_JOB_LEASE_SECONDS", default=600.0)
REGISTRY_JOB_REQUEUE_SECONDS = env.float("REGISTRY_JOB_REQUEUE_SECONDS", default=900.0)
# MCP over HTTP: Host and Origin values accepted (DNS-rebinding protection); host:* = any port.
REGISTRY_MCP_ALLOWED_HOSTS = env.list(
    "REGISTRY_MCP_ALLOWED_HOSTS", default=["127.0.0.1:*", "localhost:*", "[::1]:*"]
)
REGISTRY_MCP_ALLOWED_ORIGINS = env.list(
    "REGISTRY_MCP_ALLOWED_ORIGINS",
    default=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
)
# MCP tasks (the io.modelcontextprotocol/tasks extension, 2026-07-28): "declared" answers
# a tools/call from a client that declares the extension with a task run as a job; "off".
REGISTRY_MCP_TASKS = env.str("REGISTRY_MCP_TASKS", default="declared")
if REGISTRY_MCP_TASKS not in ("declared", "off"):
    raise ImproperlyConfigured("REGISTRY_MCP_TASKS must be 'declared' or 'off'")
# The pollIntervalMs tasks suggest to their clients.
REGISTRY_MCP_TASK_POLL_MS = env.int("REGISTRY_MCP_TASK_POLL_MS", default=500)
# The MCP SDK's OpenTelemetry span around every message: off unless asked (it costs CPU
# on every call even with no tracer provider configured; docs/mcp-surface.md).
REGISTRY_MCP_TRACING = env.bool("REGISTRY_MCP_TRACING", default=False)
# The level of the MCP SDK's transport logger, which says "Terminating session" at INFO
# on every stateless request: unset or empty, WARNING (DEBUG when LOG_LEVEL is DEBUG:
# everything asked for); INFO or DEBUG to see its lines.
REGISTRY_MCP_SDK_LOG_LEVEL = (
    env.str("REGISTRY_MCP_SDK_LOG_LEVEL", default="")
    or ("DEBUG" if env.str("LOG_LEVEL", default="INFO").upper() == "DEBUG" else "WARNING")
).upper()
# How often (seconds) a process checks whether imports or edits changed what it serves.
REGISTRY_CATALOG_CHECK_SECONDS = env.float("REGISTRY_CATALOG_CHECK_SECONDS", default=0.5)
# While the database is unreachable the stamp is read again after a backoff that doubles
# from the check interval up to this many seconds (docs/availability.md).
REGISTRY_DATABASE_RETRY_MAX_SECONDS = env.float("REGISTRY_DATABASE_RETRY_MAX_SECONDS", default=30.0)

# --- Who may call what (docs/access.md) ------------------------------------------
# Every REST and MCP HTTP call needs a client key (or, with OAuth configured, an access
# token) unless this is false; then a call without a credential may call everything.
REGISTRY_REQUIRE_CLIENT_KEY = env.bool("REGISTRY_REQUIRE_CLIENT_KEY", default=True)
# An expose that declares its own `authentication` keeps it as its callers' credential;
# with this on, such exposes also need a registry key (sent in X-API-Key).
REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH = env.bool(
    "REGISTRY_CLIENT_KEY_WITH_EXPOSE_AUTH", default=False
)
# The secret client keys are hashed with (HMAC-SHA256); changing it invalidates every key.
REGISTRY_CLIENT_KEY_SECRET = env.str("REGISTRY_CLIENT_KEY_SECRET", default="") or SECRET_KEY
# A key's "last used" is written at most this often (seconds) per process.
REGISTRY_CLIENT_KEY_TOUCH_SECONDS = env.float("REGISTRY_CLIENT_KEY_TOUCH_SECONDS", default=60.0)
# Calls per client (N/second|minute|hour|day, or off); per-key and per-grant overrides
# in the admin. Counted in Redis when REGISTRY_REDIS_URL (or a redis:// broker) is set,
# in the database otherwise (docs/access.md, "Rate limits").
REGISTRY_RATE_LIMIT = env.str("REGISTRY_RATE_LIMIT", default="600/minute")
REGISTRY_REDIS_URL = env.str("REGISTRY_REDIS_URL", default="") or (
    CELERY_BROKER_URL if (CELERY_BROKER_URL or "").startswith(("redis://", "rediss://")) else ""
)
# Seconds to connect to Redis and to wait for its answer when counting a call; past it
# the call is served uncounted (fail-open) and Redis is left alone for a backoff.
REGISTRY_RATE_LIMIT_TIMEOUT = env.float("REGISTRY_RATE_LIMIT_TIMEOUT", default=0.5)
# OAuth 2.1 resource server (optional): access tokens (JWT) from this issuer, verified
# with its JWKS (a URL, or a file); the audience is the resource's public URL.
REGISTRY_OAUTH_ISSUER = env.str("REGISTRY_OAUTH_ISSUER", default="")
REGISTRY_OAUTH_JWKS_URL = env.str("REGISTRY_OAUTH_JWKS_URL", default="")
REGISTRY_OAUTH_JWKS_FILE = env.str("REGISTRY_OAUTH_JWKS_FILE", default="")
# The public base URLs of the web server and the MCP server (no trailing slash): the
# resource identifiers are REGISTRY_PUBLIC_URL/rest/<namespace> and
# REGISTRY_MCP_PUBLIC_URL/mcp/<namespace>.
REGISTRY_PUBLIC_URL = env.str("REGISTRY_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
REGISTRY_MCP_PUBLIC_URL = env.str(
    "REGISTRY_MCP_PUBLIC_URL", default="http://127.0.0.1:9090"
).rstrip("/")
# The MCP Registry API (/v0.1/servers): each MCP expose is the server
# <REGISTRY_MCP_NAMESPACE>/<namespace>, a reverse-DNS name; set it to your domain reversed
# (registry.example.com: com.example.registry). The default is the reserved .localhost
# domain's, for local use (docs/mcp-registry.md).
REGISTRY_MCP_NAMESPACE = env.str("REGISTRY_MCP_NAMESPACE", default="localhost.registry")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handler would print every record a second time through the root.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # httpx logs every request URL at INFO; an apikey in a query string is a secret.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The MCP SDK's streamable HTTP transport: one INFO line per stateless request.
        "mcp.server.streamable_http": {"level": REGISTRY_MCP_SDK_LOG_LEVEL},
    },
}
