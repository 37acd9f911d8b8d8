"""The storage-key layout of docs/contracts.md, in one place.

``imgPool/<emotion>/[<favorite>/]img_<timestr>_<index><h|v>.jpeg`` for the pool and the same under
``emotions/`` for serving. Keys are parsed and built only here.

Retouched pictures are stored losslessly as PNG (``….png``) so that every pixel outside the
repainted area stays byte-identical to the source; they exist only in the pool. Serving keys are
always ``.jpeg`` (docs/contracts.md: kiosks read the orientation from the character before
``.jpeg``), so promotion re-encodes a PNG (``garden.services.promote_image``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext

from config import chance
from config.caches import memoized
from config.errors import DomainError

# The eight emotions, defined here once: the model choices (garden.models.Emotion) and the
# upper-case labels of /emotion (garden.faces.types.EMOTION_LABELS) are derived from this.
EMOTIONS = ("happy", "surprised", "calm", "angry", "fear", "confused", "disgusted", "sad")
POOL_PREFIX = "imgPool"
SERVING_PREFIX = "emotions"
LANDSCAPE, PORTRAIT = "h", "v"
# Edge screens poll fixed keys `display/<zone>/img<slot><h|v>.jpeg` (docs/contracts.md,
# "POST /updateDisplay"); a zone is a short lower-case slug, so it is always one safe path segment.
DISPLAY_PREFIX = "display"
DISPLAY_ZONE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
JPEG, PNG = "jpeg", "png"

# timestr: `20230320-121242` (padded) or `20230319-23756` (old, unpadded hour/day), optionally
# followed by a random suffix that makes new keys unique within a second (`20261121-101500-a1b2c3`).
_KEY_RE = re.compile(
    r"^(?P<prefix>imgPool|emotions)/(?P<emotion>[a-z]+)/(?:(?P<favorite>[^/]+)/)?"
    r"img_(?P<timestr>\d{8}-\d{1,6}(?:-[0-9a-z]+)?)_(?P<index>\d+)(?P<orientation>[hv])\.(?P<extension>jpe?g|png)$"
)
_FAVORITE_RE = re.compile(r"^[a-z0-9][a-z0-9 ,_'-]{0,99}$")


# A favorite on its own (the generation API's `favorite`), as parse_search_key accepts it; spaces
# alone mean "none". It does not match "" (a schema adds that alternative for fields that allow it).
FAVORITE_PATTERN = r"^\s*[a-zA-Z0-9][a-zA-Z0-9 ,_'-]{0,99}\s*$|^\s+$"


def _any_case(word: str) -> str:
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


# What parse_search_key accepts (any case, surrounding spaces), as a regular expression that both
# Python and JSON Schema (the OpenAPI schema's `pattern`) understand: no inline flags.
SEARCH_KEY_PATTERN = r"^\s*(" + "|".join(_any_case(emotion) for emotion in EMOTIONS) + r")(/(\s*[a-zA-Z0-9][a-zA-Z0-9 ,_'-]{0,99})?)?\s*$"


class InvalidKey(DomainError, ValueError):
    """A storage key or search key that does not follow the layout (a 400 for clients)."""


# The favorites a kiosk sends (docs/contracts.md): "<season>,<weather>,<time>", all three or none
# ("Any"). The kiosk's picker (garden.pages) offers exactly these; new images are generated only
# into these folders (generation.requests), while search keys still accept older words (`cat`).
FAVORITE_SEASONS = ("spring", "summer", "autumn", "winter")
FAVORITE_WEATHERS = ("sunny", "cloudy", "rainy", "snowy")
FAVORITE_TIMES = ("day", "sunset", "the-early-dawn", "the-middle-of-the-night")
FAVORITE_PARTS = (("season", FAVORITE_SEASONS), ("weather", FAVORITE_WEATHERS), ("time", FAVORITE_TIMES))
_FAVORITE_WORDS = "; ".join(f"{part}: {', '.join(words)}" for part, words in FAVORITE_PARTS)


def _one_of(words: tuple[str, ...]) -> str:
    return "(" + "|".join(_any_case(word) for word in words) + ")"


# A kiosk favorite as the server accepts it, for schemas: any case; any whitespace before and after
# (stripped), only spaces around the commas (parse_search_key's words allow no tab or newline
# inside), and few enough of those to stay within its 100 characters (the longest favorite is 37).
# Spaces alone mean none. Like FAVORITE_PATTERN it does not match "" (schemas add that alternative).
KIOSK_FAVORITE_RE = r"\s*" + " {0,15}, {0,15}".join(_one_of(words) for _, words in FAVORITE_PARTS) + r"\s*"
KIOSK_FAVORITE_PATTERN = r"^" + KIOSK_FAVORITE_RE + r"$|^\s+$"
# A search key whose favorite, if any, is a kiosk favorite (the folders new images go to).
KIOSK_SEARCH_KEY_PATTERN = r"^\s*(" + "|".join(_any_case(emotion) for emotion in EMOTIONS) + r")(/(" + KIOSK_FAVORITE_RE + r")?)?\s*$"


def kiosk_favorite(value: str) -> str:
    """``season,weather,time`` normalised (lower case, no spaces), or "" for none; else InvalidKey
    naming the allowed values."""
    text = value.strip().lower()
    if not text:
        return ""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == len(FAVORITE_PARTS) and all(part in words for part, (_, words) in zip(parts, FAVORITE_PARTS, strict=True)):
        return ",".join(parts)
    # The words are what clients send: they stay as they are in every language.
    message = gettext(
        "Unknown favorite %(favorite)s: a favorite is season,weather,time as kiosks send it (%(words)s), "
        "e.g. spring,cloudy,day, or none for Any."
    )
    raise InvalidKey(message % {"favorite": repr(value.strip()), "words": _FAVORITE_WORDS})


@dataclass(frozen=True)
class ParsedKey:
    prefix: str
    emotion: str
    favorite: str
    timestr: str
    index: int
    orientation: str
    extension: str = JPEG

    @property
    def is_serving(self) -> bool:
        return self.prefix == SERVING_PREFIX


def search_key(emotion: str, favorite: str = "") -> str:
    """`emotion` or `emotion/favorite`: what kiosks send as "emotion"."""
    return f"{emotion}/{favorite}" if favorite else emotion


def parse_search_key(value: object) -> tuple[str, str]:
    """Split and validate a kiosk's search key; raises InvalidKey with a message for clients."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidKey(gettext("'emotion' is required: one of %(emotions)s, optionally '/favorite'.") % {"emotions": ", ".join(EMOTIONS)})
    emotion, _, favorite = value.strip().lower().partition("/")
    if emotion not in EMOTIONS:
        raise InvalidKey(
            gettext("Unknown emotion '%(emotion)s': expected one of %(emotions)s.") % {"emotion": emotion, "emotions": ", ".join(EMOTIONS)}
        )
    favorite = favorite.strip()
    if favorite and not _FAVORITE_RE.match(favorite):
        raise InvalidKey(gettext("Invalid favorite: use lower-case words separated by commas, e.g. 'spring,cloudy,day'."))
    return emotion, favorite


def parse_key(key: str) -> ParsedKey:
    match = _KEY_RE.match(key)
    if not match or match["emotion"] not in EMOTIONS or (match["extension"] == PNG and match["prefix"] == SERVING_PREFIX):
        raise InvalidKey(f"Not an image key of the garden layout: {key!r}")
    return ParsedKey(
        prefix=match["prefix"],
        emotion=match["emotion"],
        favorite=match["favorite"] or "",
        timestr=match["timestr"],
        index=int(match["index"]),
        orientation=match["orientation"],
        extension=PNG if match["extension"] == PNG else JPEG,
    )


@memoized(key="the image key (a string)", fresh="none: a pure function of its key", maxsize=200_000)
def parsed_or_none(key: str) -> ParsedKey | None:
    """``parse_key``, or None for a string that is no image key; cached, because event and history
    keys repeat across requests and rollups and a dictionary look-up costs less than the regex
    (the one cache of parsed keys: recommend.selectors and insights.aggregation share it)."""
    try:
        return parse_key(key)
    except InvalidKey:
        return None


def search_key_of(key: str) -> str | None:
    """The search key (``emotion[/favorite]``) of an image key; None for a string that is no key."""
    parsed = parsed_or_none(key)
    return None if parsed is None else search_key(parsed.emotion, parsed.favorite)


def new_timestr(now: datetime) -> str:
    """A padded timestamp plus a random suffix: unique even for jobs started in the same second."""
    return f"{now:%Y%m%d-%H%M%S}-{chance.token_hex(3)}"


def build_key(*, prefix: str, emotion: str, favorite: str, timestr: str, index: int, orientation: str, extension: str = JPEG) -> str:
    if extension not in (JPEG, PNG) or (extension == PNG and prefix == SERVING_PREFIX):
        raise InvalidKey(f"Serving images are JPEG; pool images JPEG or PNG, not {extension!r}.")
    folder = f"{prefix}/{search_key(emotion, favorite)}"
    return f"{folder}/img_{timestr}_{index}{orientation}.{extension}"


def twin_key(key: str) -> str:
    """The key of the other orientation of the same bulk pair, in the same folder (InvalidKey for a
    key outside the garden layout)."""
    parsed = parse_key(key)
    return build_key(
        prefix=parsed.prefix,
        emotion=parsed.emotion,
        favorite=parsed.favorite,
        timestr=parsed.timestr,
        index=parsed.index,
        orientation=PORTRAIT if parsed.orientation == LANDSCAPE else LANDSCAPE,
        extension=parsed.extension,
    )


def with_prefix(key: str, prefix: str) -> str:
    """The same image under another top folder (pool ↔ serving); a PNG becomes ``.jpeg`` when served."""
    parsed = parse_key(key)
    return build_key(
        prefix=prefix,
        emotion=parsed.emotion,
        favorite=parsed.favorite,
        timestr=parsed.timestr,
        index=parsed.index,
        orientation=parsed.orientation,
        extension=JPEG if prefix == SERVING_PREFIX else parsed.extension,
    )


def display_key(*, zone: str, slot: int, orientation: str) -> str:
    """The fixed key an edge screen polls for one slot of a zone (slots count from 1)."""
    if not DISPLAY_ZONE_RE.match(zone) or orientation not in (LANDSCAPE, PORTRAIT) or slot < 1:
        raise InvalidKey(f"Not a display slot: zone {zone!r}, slot {slot}, orientation {orientation!r}")
    return f"{DISPLAY_PREFIX}/{zone}/img{slot}{orientation}.jpeg"
