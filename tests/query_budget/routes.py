"""Every URL pattern as the route string Django's resolver reports (``ResolverMatch.route``), and the
patterns deliberately left without a budget."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.urls import URLResolver, get_resolver, resolve
from django.utils import translation

# Routes walked and resolved under this language: the i18n_patterns prefix reads "ko/".
LANGUAGE = "ko"

MEDIA = r"^media/(?P<path>.*)$"
EXCLUDED = {
    MEDIA: "uploaded files served from disk by django.views.static.serve (no database); present only while GARDEN_SERVE_MEDIA is on",
    "admin/insights/dashboard/<path:object_id>/change/": "the insights dashboard is a page over a table-less model: no object to show "
    "(the object pages would query a table that does not exist)",
    "admin/insights/dashboard/<path:object_id>/history/": "as above: no object, no history",
    "admin/insights/dashboard/<path:object_id>/delete/": "as above: no object to delete",
    "admin/insights/dashboard/<path:object_id>/": "as above: the object URL's redirect has no object",
    "^sdapi/": "A1111's JSON 404 for any other /sdapi/ route: a plain view that reads nothing (tests/a1111/test_a1111_catalog.py)",
}


# Patterns that exist only under some settings (GARDEN_SERVE_MEDIA off with a bucket): their
# exclusion is not stale when they are absent.
CONDITIONAL = {MEDIA}


def _join(outer: str, inner: str) -> str:
    """django.urls.resolvers.URLResolver._join_route."""
    return inner if not outer else outer + inner.removeprefix("^")


def _walk(patterns) -> list[str]:
    routes = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            routes += [_join(str(pattern.pattern), inner) for inner in _walk(pattern.url_patterns)]
        else:
            routes.append(str(pattern.pattern))
    return routes


def all_routes() -> set[str]:
    with translation.override(LANGUAGE):
        return set(_walk(get_resolver().url_patterns))


def route_of(path: str) -> str:
    with translation.override(LANGUAGE):
        return resolve(urlsplit(path).path).route
