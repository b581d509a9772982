"""The naive proxy's WSGI application (``gunicorn bench.baselines.naive_proxy.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.baselines.naive_proxy.settings")

application = get_wsgi_application()
