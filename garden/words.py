"""The favorite's words as a person reads them, translated (the kiosk pages, the share page and the
admin's lists all show these; garden.pages re-exports them)."""

from __future__ import annotations

from django.utils.functional import lazy
from django.utils.translation import pgettext, pgettext_lazy

# The names of the favorite words (garden.keys.FAVORITE_PARTS, docs/contracts.md:
# "<season>,<weather>,<time>"), translated where shown (docs/languages.md).
FAVORITE_NAMES = {
    "spring": pgettext_lazy("season", "Spring"),
    "summer": pgettext_lazy("season", "Summer"),
    "autumn": pgettext_lazy("season", "Autumn"),
    "winter": pgettext_lazy("season", "Winter"),
    "sunny": pgettext_lazy("weather", "Sunny"),
    "cloudy": pgettext_lazy("weather", "Cloudy"),
    "rainy": pgettext_lazy("weather", "Rainy"),
    "snowy": pgettext_lazy("weather", "Snowy"),
    "day": pgettext_lazy("time of day", "Day"),
    "sunset": pgettext_lazy("time of day", "Sunset"),
    "the-early-dawn": pgettext_lazy("time of day", "Early dawn"),
    "the-middle-of-the-night": pgettext_lazy("time of day", "Middle of the night"),
}


def _favorite_words(favorite: str) -> str:
    # The language's own list separator ("spring, sunny, day"; Japanese "春、晴れ、昼"), not a hand-joined ", ".
    separator = pgettext("list separator", ", ")
    return separator.join(str(FAVORITE_NAMES.get(part, part.replace("-", " "))) for part in favorite.split(",") if part)


# Lazy: evaluated where rendered, so a second language ({% bilingual %}) gets its own words.
favorite_words = lazy(_favorite_words, str)
