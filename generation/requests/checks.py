"""The small checks every request parser shares: whole numbers, sizes, bounds and the kiosk favorite.

Apart from JobRequest (the package's ``__init__``) so that it reads as the list of its steps; the messages
are the ones the staff pages and API clients see (in the request's language, docs/languages.md).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from garden import keys


def kiosk_favorite(favorite: str, *, field: str, errors: dict[str, str]) -> str | None:
    """New images go only where kiosks look: a kiosk favorite (normalised), none, or one of
    GARDEN_EXTRA_FAVORITES; else None with the error (naming the allowed values) under ``field``."""
    if favorite in {extra.strip().lower() for extra in settings.GARDEN_EXTRA_FAVORITES}:
        return favorite
    try:
        return keys.kiosk_favorite(favorite)
    except keys.InvalidKey as exc:
        extra = ", ".join(settings.GARDEN_EXTRA_FAVORITES)
        also = gettext(" Also allowed on this site: %(extra)s.") % {"extra": extra} if extra else ""
        errors[field] = exc.message + also
        return None


def check_int(name: str, value: object, low: int, high: int, errors: dict[str, str], *, setting: str = "") -> None:
    """``setting``: the setting that makes ``high`` (its name stays out of the message: an operator
    reads "the most this site allows", docs/settings.md names the setting)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        # The messages the staff pages show come back in the request's language (docs/languages.md).
        if setting:
            message = gettext("%(name)s must be a whole number between %(low)s and %(high)s (the most this site allows); got %(value)s.")
        else:
            message = gettext("%(name)s must be a whole number between %(low)s and %(high)s; got %(value)s.")
        errors[name] = message % {"name": name, "low": low, "high": high, "value": repr(value)}


_NO_VALUE = object()


def between(name: str, low: float, high: float, *, got: object = _NO_VALUE) -> str:
    """ "<name> must be a number between <low> and <high>" (with "; got <value>" when given)."""
    bounds = {"name": name, "low": f"{low:g}", "high": f"{high:g}"}
    if got is _NO_VALUE:
        return gettext("%(name)s must be a number between %(low)s and %(high)s.") % bounds
    return gettext("%(name)s must be a number between %(low)s and %(high)s; got %(value)s.") % {**bounds, "value": repr(got)}


def one_of(name: str, choices) -> str:
    return gettext("%(name)s must be one of %(choices)s.") % {"name": name, "choices": ", ".join(choices)}


def portrait_fits(width: int, height: int) -> bool:
    """The portrait of each bulk pair swaps width and height: it must fit the limits too."""
    return height <= settings.GARDEN_MAX_WIDTH and width <= settings.GARDEN_MAX_HEIGHT


def check_size(name: str, value: object, high: int, errors: dict[str, str]) -> None:
    low = settings.GARDEN_MIN_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value % 8 or not low <= value <= high:
        message = gettext("%(name)s must be a multiple of 8 between %(low)s and %(high)s (the most this site allows); got %(value)s.")
        errors[name] = message % {"name": name, "low": low, "high": high, "value": repr(value)}
