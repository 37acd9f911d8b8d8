"""Prometheus metrics: request counts and latency per view, kiosk events, and the exposition.

The library (prometheus_client) does the bookkeeping. With several gunicorn workers, set
PROMETHEUS_MULTIPROC_DIR to an empty, writable folder before the processes start (the container
entrypoint and ``make run`` do): each process then writes its counters to files there and a scrape
adds them up (the library's multiprocess mode), whichever worker answers it. Figures that live in
the database or the broker (jobs, queues, workers) are read at scrape time by collectors the apps
register here (``register_collector``; insights.metrics), so workers need no exporter of their own.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger(__name__)

REQUESTS = Counter("garden_http_requests_total", "HTTP requests answered, by view, method and status", ["view", "method", "status"])
LATENCY = Histogram(
    "garden_http_request_duration_seconds",
    "Time to answer an HTTP request, by view",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
KIOSK_EVENTS = Counter("garden_kiosk_events_total", "Kiosk calls answered 2xx, by type (a like, a screen shown, an emotion…)", ["type"])

# URL names of the kiosk calls, and the event type each one counts as.
KIOSK_EVENT_TYPES = {
    "emotion": "emotion",
    "garden": "garden",
    "garden-from-db": "garden_from_db",
    "like": "like",
    "impression": "impression",
    "dislike": "dislike",
}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

# Collectors of the apps above config (database and broker figures), added in their AppConfig.ready.
_app_collectors: list[Callable[[], Collector]] = []


def register_collector(factory: Callable[[], Collector]) -> None:
    if factory not in _app_collectors:
        _app_collectors.append(factory)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition() -> bytes:
    """Every metric as Prometheus text: this process's (or, in multiprocess mode, every process's
    files added up), then the apps' database and broker figures."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    apps = CollectorRegistry()
    for factory in _app_collectors:
        apps.register(factory())
    return generate_latest(registry) + generate_latest(apps)


def metrics_allowed(request) -> bool:
    """A scrape is allowed from GARDEN_METRICS_ALLOWED_IPS (addresses or networks) or with
    ``Authorization: Bearer <GARDEN_METRICS_TOKEN>`` when a token is set."""
    import hmac

    token = settings.GARDEN_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    from config.api import client_ip

    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    for allowed in settings.GARDEN_METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed.strip(), strict=False):
                return True
        except ValueError:
            log.warning("GARDEN_METRICS_ALLOWED_IPS: %r is not an address or network", allowed)
    return False


def metrics_response(request) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse(
            '{"detail": "Metrics are limited to GARDEN_METRICS_ALLOWED_IPS or a bearer token."}',
            status=403,
            content_type="application/json",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Counts every answer by view (the URL's name, not the path: bounded labels) and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            self._record(request, response.status_code, time.perf_counter() - started)
        except Exception:  # a metrics fault never fails a request
            log.exception("recording request metrics failed")
        return response

    @staticmethod
    def _record(request, status: int, seconds: float) -> None:
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route or "unnamed") if match else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(view, method, str(status)).inc()
        LATENCY.labels(view).observe(seconds)
        event = KIOSK_EVENT_TYPES.get(view)
        if event and 200 <= status < 300:
            KIOSK_EVENTS.labels(event).inc()
