"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
# The URL conf and every view it names are imported now, as the server starts, not by the first
# request: an SD client's first probe (GET /sdapi/v1/options; the retouch app gives up at 2 s) is
# then as fast as any other (bench/a1111_options.py).
get_resolver().url_patterns  # noqa: B018
