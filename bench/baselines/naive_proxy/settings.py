"""Settings of the naive proxy: what ``django-admin startproject`` writes, plus DRF.

The naive variant keeps Django's default middleware (seven) and DRF's defaults (session
and basic authentication, the JSON and browsable API renderers). ``BENCH_PROXY_LEAN=1``
is the lean variant: no middleware and only the JSON renderer. The upstream is
``BENCH_UPSTREAM_URL``, called with ``Authorization: Bearer $FLEET_TOKEN``. No request
touches the database (an in-memory SQLite, for the apps that declare models).
"""

from __future__ import annotations

import os

LEAN = os.environ.get("BENCH_PROXY_LEAN", "") == "1"

SECRET_KEY = os.environ.get("SECRET_KEY") or "bench-naive-proxy-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.baselines.naive_proxy.urls"
WSGI_APPLICATION = "bench.baselines.naive_proxy.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"

# startproject's defaults
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
REST_FRAMEWORK: dict[str, list[str]] = {}  # DRF's defaults

if LEAN:
    MIDDLEWARE = []
    REST_FRAMEWORK = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

UPSTREAM_URL = os.environ.get("BENCH_UPSTREAM_URL", "http://127.0.0.1:8765")
UPSTREAM_TOKEN = os.environ.get("FLEET_TOKEN", "")
