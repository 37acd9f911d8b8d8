"""Shared plumbing for the HTTP APIs: the kiosk and staff-or-token view bases, the kiosk throttle,
body validation, and the one place where domain errors become HTTP answers. Parsers: config.parsers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils.translation import gettext
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from config import caches, outages
from config.caches import memoized
from config.caches.breaker import redis_call
from config.errors import DatabaseUnavailable, DomainError
from config.parsers import LenientJSONParser, PayloadTooLarge

log = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The client's address: the socket's, or the one GARDEN_TRUSTED_PROXIES proxies reported.

    Each trusted proxy appends the address it saw to X-Forwarded-For, so the client is the entry
    that many places from the end; anything before it was written by the client and is not trusted.
    Used by the kiosk throttle and by the login lockout (django-axes).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.GARDEN_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote


def counters_on_redis() -> bool:
    """Whether the counters below are raw Redis keys (django-redis: one round trip a call, no version
    prefix), or entries of another cache backend reached through THROTTLE_COUNTERS."""
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis.")


def count_request(key: str, *, window: int) -> int:
    """Add one to ``key``'s counter, which expires ``window`` seconds after its first request.

    On Redis (django-redis) that is one pipelined round trip (INCR, then EXPIRE NX); on other
    caches an atomic increment, with an add that starts the counter. While Redis is down it is 0:
    the throttle fails open (config.caches.breaker logs and counts the outage and skips Redis for a while).
    """
    if counters_on_redis():

        def incr_with_expiry(redis) -> int:
            pipe = redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            return pipe.execute()[0]

        return redis_call("throttle", incr_with_expiry, default=0)
    try:
        return THROTTLE_COUNTERS.incr(key)
    except ValueError:  # the window's first request
        return 1 if THROTTLE_COUNTERS.add(key, 1, window) else THROTTLE_COUNTERS.incr(key)


def read_counts(keys: list[str]) -> list[int]:
    """The counters ``count_request`` keeps under ``keys`` (0 for one not started, or while Redis is
    down): on Redis one MGET round trip, elsewhere one read each (a per-process cache)."""
    if counters_on_redis():
        found = redis_call("throttle", lambda redis: redis.mget(keys), default=[None] * len(keys))
        return [int(value or 0) for value in found]
    return [int(THROTTLE_COUNTERS.get(key) or 0) for key in keys]


def seconds_left(key: str, *, window: int) -> int:
    """How long ``key``'s counter has left: its expiry on Redis, elsewhere the whole window (at most)."""
    if counters_on_redis():
        left = redis_call("throttle", lambda redis: redis.ttl(key), default=window)
        return left if 0 < left <= window else window
    return window


def uncount(key: str) -> None:
    """Take one back from ``key``'s counter (an attempt counted before it ran, which turned out fine);
    a counter that reaches 0 is dropped, one already gone stays gone."""
    if counters_on_redis():

        def decrement(redis) -> None:
            if redis.decr(key) <= 0:
                redis.delete(key)

        redis_call("throttle", decrement, default=None)
        return
    try:
        if THROTTLE_COUNTERS.decr(key) <= 0:
            THROTTLE_COUNTERS.delete(key)
    except ValueError:  # its window ended meanwhile
        pass


def forget_count(key: str) -> None:
    """Drop ``key``'s counter (a new window starts with its next request)."""
    if counters_on_redis():
        redis_call("throttle", lambda redis: redis.delete(key), default=0)
    else:
        THROTTLE_COUNTERS.delete(key)


# The counters of KioskRateThrottle and its subclasses (their get_cache_key: throttle:<scope>:<client>),
# and of failed logins (config.auth: throttle:login:<client>[:<user name's digest>]).
THROTTLE_COUNTERS = caches.shared(
    owner=__name__,
    name="THROTTLE_COUNTERS",
    prefix="throttle:",
    ttl=None,
    kind=caches.COUNTER,
    key="(scope, client): requests in the client's window; failed logins from a client, and from it for a user name (config.auth)",
    fresh="expires at the end of the client's window (the rate's period)",
    raw=True,
)


class KioskRateThrottle(SimpleRateThrottle):
    """Per-client limit for kiosk calls (GARDEN_KIOSK_RATE, read per request), as a counter: one
    atomic cache increment per request. DRF's stock throttles keep the time of every request in
    the window and rewrite that list on each request, work that grows with the rate. A client's
    window opens with its first request and lasts the rate's period (the counter's expiry).
    The client is the socket address, or the one GARDEN_TRUSTED_PROXIES proxies reported."""

    scope = "kiosk"

    def get_rate(self):
        return settings.GARDEN_KIOSK_RATE

    def get_cache_key(self, request, view):
        return f"throttle:kiosk:{client_ip(request)}"

    def allow_request(self, request, view):
        self.num_requests, self.duration = self.parse_rate(self.get_rate())
        return count_request(self.get_cache_key(request, view), window=self.duration) <= self.num_requests

    def wait(self):
        return self.duration  # at most: the window opened with the client's first request


class KioskAPIView(APIView):
    """Legacy kiosk endpoints: anonymous, no CSRF cookie, throttled by the `kiosk` rate."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [LenientJSONParser]
    throttle_classes = [KioskRateThrottle]
    throttle_scope = "kiosk"


class StaffOrToken(BasePermission):
    """A staff session, or any user authenticated with an API token (DRF TokenAuthentication).
    Subclasses name what they guard in ``message`` (else DRF's own words answer the 403)."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.is_staff or isinstance(request.successful_authenticator, TokenAuthentication))


class StaffOrTokenAPIView(APIView):
    """Endpoints for staff and API tokens (GPU work, display zones). Callers prove who they are as
    every API view takes it (REST_FRAMEWORK's default authentication, config/rest.py): an API token,
    HTTP Basic with a staff user's password or a client key, a client key as a bearer token
    (config.auth), or a staff session. Token is first: an anonymous call gets 401 with
    `WWW-Authenticate: Token`."""

    permission_classes = [StaffOrToken]


def json_object(request) -> dict:
    """The request body as a JSON object, or a 400."""
    if not isinstance(request.data, dict):
        raise exceptions.ParseError(gettext("Expected a JSON object."))
    return request.data


@memoized(key="the request serializer class", fresh="none: a class's declared fields do not change")
def _bound(serializer_class: type[Serializer]) -> Serializer:
    """One instance per request serializer, its fields bound once. DRF deep-copies and binds a
    serializer's declared fields for every instance it makes (``bench/serving.py --profile`` shows
    its share); ``run_validation`` keeps no state on the instance, so one instance
    serves every request and thread. Request serializers must not read ``self.context``."""
    serializer = serializer_class()
    serializer.fields  # noqa: B018 (bound here, once, rather than by the first requests racing)
    return serializer


def validated(serializer_class: type[Serializer], request) -> dict:
    """The body, checked by ``serializer_class``: its validated data, or a 400 naming the fields
    (the same answer as ``is_valid(raise_exception=True)``)."""
    return validated_object(serializer_class, json_object(request))


def validated_object(serializer_class: type[Serializer], data: object) -> dict:
    """``data`` (parsed JSON) checked by ``serializer_class``, or a 400 naming the fields."""
    if not isinstance(data, dict):
        raise exceptions.ParseError(gettext("Expected a JSON object."))
    return _bound(serializer_class).run_validation(data)


def exception_handler(exc, context):
    """DRF's handler, plus: domain errors → their status and message; oversized bodies → 413;
    a database outage → 503 with Retry-After (config.outages; pages get the same from its middleware).

    Anything else unexpected returns None: Django logs it and answers a bare 500 (DEBUG is off),
    never a stack trace.
    """
    if outages.is_database_outage(exc):
        outages.database_unavailable(exc, where="api")
        exc = DatabaseUnavailable()
    if isinstance(exc, DomainError):
        response = Response(exc.as_body(), status=exc.status_code)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        if getattr(exc, "www_authenticate", None):  # a 401 names its scheme
            response["WWW-Authenticate"] = exc.www_authenticate
        if exc.expected:
            response._has_been_logged = True  # type: ignore[attr-defined]  # django.utils.log.log_response skips it
            log.info("%s %s: %s (%s)", context["request"].method, context["request"].path, exc.status_code, exc.message)
        return response
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    """The 404 of a path no route matches: JSON under /api/ (API clients read JSON), else Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)
