"""The storage-key layout of CONTRACTS.md, in one place.

``imgPool/<emotion>/[<favorite>/]img_<timestr>_<index><h|v>.jpeg`` for the pool and the same under
``emotions/`` for serving. Keys are parsed and built only here.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

EMOTIONS = ("happy", "surprised", "calm", "angry", "fear", "confused", "disgusted", "sad")
POOL_PREFIX = "imgPool"
SERVING_PREFIX = "emotions"
LANDSCAPE, PORTRAIT = "h", "v"

# timestr: `20230320-121242` (padded) or `20230319-23756` (old, unpadded hour/day), optionally
# followed by a random suffix that makes new keys unique within a second (`20261121-101500-a1b2c3`).
_KEY_RE = re.compile(
    r"^(?P<prefix>imgPool|emotions)/(?P<emotion>[a-z]+)/(?:(?P<favorite>[^/]+)/)?"
    r"img_(?P<timestr>\d{8}-\d{1,6}(?:-[0-9a-z]+)?)_(?P<index>\d+)(?P<orientation>[hv])\.jpe?g$"
)
_FAVORITE_RE = re.compile(r"^[a-z0-9][a-z0-9 ,_'-]{0,99}$")


class InvalidKey(ValueError):
    """A storage key or search key that does not follow the layout."""


@dataclass(frozen=True)
class ParsedKey:
    prefix: str
    emotion: str
    favorite: str
    timestr: str
    index: int
    orientation: str

    @property
    def is_serving(self) -> bool:
        return self.prefix == SERVING_PREFIX


def search_key(emotion: str, favorite: str = "") -> str:
    """`emotion` or `emotion/favorite`: what kiosks send as "emotion"."""
    return f"{emotion}/{favorite}" if favorite else emotion


def parse_search_key(value: object) -> tuple[str, str]:
    """Split and validate a kiosk's search key; raises InvalidKey with a message for clients."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidKey("'emotion' is required: one of " + ", ".join(EMOTIONS) + ", optionally '/favorite'.")
    emotion, _, favorite = value.strip().lower().partition("/")
    if emotion not in EMOTIONS:
        raise InvalidKey(f"Unknown emotion '{emotion}': expected one of {', '.join(EMOTIONS)}.")
    favorite = favorite.strip()
    if favorite and not _FAVORITE_RE.match(favorite):
        raise InvalidKey("Invalid favorite: use lower-case words separated by commas, e.g. 'spring,cloudy,day'.")
    return emotion, favorite


def parse_key(key: str) -> ParsedKey:
    match = _KEY_RE.match(key)
    if not match or match["emotion"] not in EMOTIONS:
        raise InvalidKey(f"Not an image key of the garden layout: {key!r}")
    return ParsedKey(
        prefix=match["prefix"],
        emotion=match["emotion"],
        favorite=match["favorite"] or "",
        timestr=match["timestr"],
        index=int(match["index"]),
        orientation=match["orientation"],
    )


def new_timestr(now: datetime) -> str:
    """A padded timestamp plus a random suffix: unique even for jobs started in the same second."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def build_key(*, prefix: str, emotion: str, favorite: str, timestr: str, index: int, orientation: str) -> str:
    folder = f"{prefix}/{search_key(emotion, favorite)}"
    return f"{folder}/img_{timestr}_{index}{orientation}.jpeg"


def with_prefix(key: str, prefix: str) -> str:
    """The same image under another top folder (pool ↔ serving)."""
    parsed = parse_key(key)
    return build_key(
        prefix=prefix,
        emotion=parsed.emotion,
        favorite=parsed.favorite,
        timestr=parsed.timestr,
        index=parsed.index,
        orientation=parsed.orientation,
    )
