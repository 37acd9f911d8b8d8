"""The images a /garden answer ranks for one search key.

Everything here depends on the serving set only, not on the visitor: which images compete
(the requested search key's newest, plus its emotion's other favorites when the key has too few),
their ids, keys, orientations and tiers as aligned arrays, and each image's entry of the answer
rendered as JSON for the site's address the first time an answer returns it (an answer returns at
most RECOMMEND_MAX_RESULTS of each orientation, a fraction of a key's candidates).
The serving cache (recommend.serving) keeps a set per serving version, so a request only reads
counters and the visitor's history, ranks arrays and joins rendered entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from garden import selectors as garden_selectors
from garden.looks import LOOK_FIELDS
from recommend.models import Fallback


@dataclass(frozen=True)
class CandidateSet:
    search_key: str
    ids: np.ndarray  # int64 image ids, newest first within each tier
    keys: list[str]
    portrait: np.ndarray  # bool
    tier: np.ndarray  # 0: the requested search key, 1: its emotion's other favorites (the fallback)
    key_index: np.ndarray  # each candidate's index into search_keys
    search_keys: list[str]
    position: dict[str, int]  # image key → candidate index
    render: Callable[[str, str], bytes]  # (key, emotion) → its {"url", "emotion"} entry (garden.selectors.listing_renderer)
    serving_version: str = ""  # what it was loaded under (garden.selectors.serving_version)
    site_base: str = ""  # the address its entries' URLs start with (garden.selectors.site_base)
    looks: np.ndarray | None = None  # (candidates, garden.looks.LOOK_FIELDS), NaN rows for pictures not measured
    _entries: list[bytes | None] = field(init=False, repr=False)  # rendered so far, by candidate index

    def __post_init__(self) -> None:
        object.__setattr__(self, "_entries", [None] * len(self.keys))

    def entry(self, index: int) -> bytes:
        """Candidate ``index``'s rendered entry, rendered once. Threads that race render the same
        bytes, so the list needs no lock."""
        rendered = self._entries[index]
        if rendered is None:
            rendered = self._entries[index] = self.render(self.keys[index], self.emotion)
        return rendered

    @property
    def emotion(self) -> str:
        return self.search_key.partition("/")[0]

    @property
    def fallback(self) -> int:
        """Fallback.EMPTY without candidates, OTHER_FAVORITES when the fallback tier was added."""
        if not self.keys:
            return Fallback.EMPTY
        return Fallback.OTHER_FAVORITES if bool(self.tier.any()) else Fallback.NONE

    def __len__(self) -> int:
        return len(self.keys)


def load_candidates(*, search_key: str, request, serving_version: str = "", site_base: str = "") -> CandidateSet:
    """The search key's newest images; a favorite with too few → its emotion's others.

    Never another emotion: the original's bug was ignoring the emotion, and an empty garden is a
    valid answer (kiosks show "no images").
    """
    pool = settings.RECOMMEND_CANDIDATES
    emotion, _, favorite = search_key.partition("/")
    # Rows of (id, key, orientation, search_key, *look): the look rides along, one query per tier.
    # No emotion: every candidate has the search key's (the fallback tier is the same emotion's).
    rows = [(row, 0) for row in garden_selectors.serving_candidates(search_key=search_key, limit=pool)]
    if favorite and len(rows) < settings.RECOMMEND_MIN_RESULTS:
        others = garden_selectors.serving_candidates_elsewhere(emotion=emotion, search_key=search_key, limit=pool)
        rows += [(row, 1) for row in others]
    search_keys = list(dict.fromkeys(row[3] for row, _ in rows))
    key_number = {key: n for n, key in enumerate(search_keys)}
    keys = [row[1] for row, _ in rows]
    return CandidateSet(
        search_key=search_key,
        ids=np.array([row[0] for row, _ in rows], dtype=np.int64),
        keys=keys,
        portrait=np.array([row[2] == "v" for row, _ in rows], dtype=bool),
        tier=np.array([tier for _, tier in rows], dtype=np.int64),
        key_index=np.array([key_number[row[3]] for row, _ in rows], dtype=np.int64),
        search_keys=search_keys,
        position={key: n for n, key in enumerate(keys)},
        render=garden_selectors.listing_renderer(request),
        serving_version=serving_version,
        site_base=site_base,
        looks=np.array([row[4:] for row, _ in rows], dtype=np.float64).reshape(len(rows), len(LOOK_FIELDS)),  # None → NaN
    )
