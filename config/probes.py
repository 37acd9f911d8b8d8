"""/healthz, /readyz and /metrics, answered before the rest of the middleware.

Orchestrators and scrapers address a container by its IP and speak plain HTTP inside the
cluster: they would fail ALLOWED_HOSTS (400) and the TLS redirect (301) that protect the site.
So the first middleware answers these three paths itself and lets everything else through.
``/metrics`` has its own access rule (config.metrics.metrics_allowed); the other two say only
"ok" or which part is down.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse

from config import health, metrics

_PROBE_CACHE = "no-store"


def healthz(request) -> HttpResponse:
    """The process is alive and answers; touches no database, cache or storage."""
    return JsonResponse({"status": "ok"})


def readyz(request) -> HttpResponse:
    """Each part's status and latency; 503 (with Retry-After) when a required part is down."""
    body, ready = health.readiness_body(health.readiness())
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = "5"
    return response


ROUTES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics.metrics_response}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ROUTES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        response = view(request)
        response["Cache-Control"] = _PROBE_CACHE
        return response
