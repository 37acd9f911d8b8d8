"""The visitor's language on the kiosk pages (docs/languages.md).

A page's language is Django's: the URL's prefix (/ko/kiosk/ pins a kiosk to Korean), the visitor's
choice (the cookie set_language writes), Accept-Language, then GARDEN_LANGUAGE. The language switch
posts to set_language; at the idle reset the kiosk drops the cookie and goes back to its home: the
language its URL pinned, or the unprefixed page (the installation's language).

GARDEN_SECOND_LANGUAGE (optional) shows a second language under the first, the original's look.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning
from django.urls import is_valid_path, reverse
from django.utils import translation
from django.utils.translation.trans_real import DjangoTranslation
from django.views.i18n import JavaScriptCatalog

from config.caches import memoized

LANGUAGE_CODES = tuple(code for code, _name in settings.LANGUAGES)


def second_language() -> str:
    """GARDEN_SECOND_LANGUAGE when it names a shipped language other than the page's, else ""."""
    second = getattr(settings, "GARDEN_SECOND_LANGUAGE", "") or ""
    return second if second in LANGUAGE_CODES and second != translation.get_language() else ""


def home(request) -> str:
    """The language this kiosk was pinned to by its URL ("" when unpinned).

    ?home=<code> keeps the pin across the switch: set_language sends the visitor to the prefix of the
    chosen language, and the query string goes along."""
    wanted = request.GET.get("home", "")
    if wanted in LANGUAGE_CODES:
        return wanted
    return translation.get_language_from_path(request.path_info) or ""


def _unprefixed(request) -> str:
    prefix = translation.get_language_from_path(request.path_info)
    if not prefix:
        return request.path
    return request.path[: len(request.path) - len(request.path_info)] + request.path_info[len(prefix) + 1 :]


def switch_next(request) -> str:
    """Where set_language sends the visitor back: this page without a language prefix, so the
    visitor's choice (the cookie) decides; a pinned page's home travels along in ?home=.

    (set_language's own translate_url only rewrites a prefix of the language active during the
    POST, which is the cookie's or the browser's, not necessarily the page's.)"""
    pinned = home(request)
    if not pinned:
        return request.get_full_path()
    query = request.GET.copy()
    query["home"] = pinned
    return f"{_unprefixed(request)}?{query.urlencode()}"


def home_url(request) -> str:
    """This page in its home language: the pinned prefix, or the unprefixed page."""
    pinned = home(request)
    path = _unprefixed(request)
    return (_pinned_path(request, pinned) if pinned else None) or path + _query_tail(request)


def _query_tail(request) -> str:
    query = request.GET.copy()
    query.pop("home", None)
    return f"?{query.urlencode()}" if query else ""


def _pinned_path(request, code: str) -> str | None:
    """This page pinned to ``code`` (its query kept, ``home`` dropped), or None where it has no pinned copy."""
    path = _unprefixed(request)
    script = request.path[: len(request.path) - len(request.path_info)]
    candidate = f"{script}/{code}{path[len(script) :]}"
    with translation.override(code):
        if is_valid_path(candidate[len(script) :]):
            return candidate + _query_tail(request)
    return None


def pinned_urls(request, *, fallback: str = "") -> dict[str, str]:
    """This page pinned to each language that has a pinned copy: where a screen goes when an
    operator switches its language (docs/fleet.md).

    ``fallback`` names the pinned page for an address with no pinned copy of its own: the kiosk at
    ``/`` (the address the README gives) goes to ``/<code>/kiosk/``, its query kept."""
    urls = {code: _pinned_path(request, code) or _reverse_pinned(request, fallback, code) for code in LANGUAGE_CODES}
    return {code: url for code, url in urls.items() if url}


def _reverse_pinned(request, name: str, code: str) -> str | None:
    if not name:
        return None
    with translation.override(code):
        return reverse(name) + _query_tail(request)


@memoized(key="language code", fresh="none: the compiled catalogs do not change while the process runs", maxsize=8)
def js_catalog(language: str) -> dict[str, object]:
    """The djangojs catalog of ``language`` as JSON-ready data (the second language's words in JS)."""
    view = JavaScriptCatalog()
    view.translation = DjangoTranslation(language, domain="djangojs")
    return {"catalog": view.get_catalog(), "plural": view.get_plural()}


def context(request) -> dict[str, object]:
    """Template context processor: the switch's target, the home URL and the second language."""
    return {
        "language_next": switch_next(request),
        "language_home_url": home_url(request),
        "second_language": second_language(),
        "language_cookie_name": settings.LANGUAGE_COOKIE_NAME,
    }


@register("garden")
def unknown_second_language(app_configs=None, **kwargs) -> list[CheckMessage]:
    """garden.W103: GARDEN_SECOND_LANGUAGE names no shipped language (no second language is shown).
    (An unknown GARDEN_LANGUAGE is Django's own translation.E004.)"""
    second = getattr(settings, "GARDEN_SECOND_LANGUAGE", "") or ""
    if not second or second in LANGUAGE_CODES:
        return []
    return [
        CheckWarning(
            f"GARDEN_SECOND_LANGUAGE is {second!r}, not one of {', '.join(LANGUAGE_CODES)}: no second language is shown.",
            hint="Set it to a language code of LANGUAGES, or leave it empty (docs/languages.md).",
            id="garden.W103",
        )
    ]
