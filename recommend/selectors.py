"""Reads for the recommender: candidates, a visitor's history, the counts that score them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from garden import keys as garden_keys
from garden import selectors as garden_selectors
from garden.models import Image, Visitor
from recommend.models import FavoriteStat, ImageStat, Interaction
from recommend.ranking import SEGMENT_ALL, CandidateCounts, segment_of

CANDIDATE_FIELDS = ("id", "key", "emotion", "favorite", "orientation", "search_key", "created_at")


@dataclass
class Candidate:
    image: Image
    tier: int  # 0 requested search key, 1 same emotion, other favorite (the fallback)


@dataclass
class VisitorHistory:
    liked: set[str] = field(default_factory=set)
    disliked: set[str] = field(default_factory=set)
    recently_shown: set[str] = field(default_factory=set)
    key_impressions: dict[str, int] = field(default_factory=dict)
    key_likes: dict[str, int] = field(default_factory=dict)

    @property
    def like_count(self) -> int:
        return len(self.liked)


def parse_visitor_id(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def find_visitor(*, visitor_id) -> Visitor | None:
    parsed = parse_visitor_id(visitor_id)
    if parsed is None:
        return None
    return Visitor.objects.filter(pk=parsed).only("id", "generation", "gender").first()


def visitor_segment(*, visitor: Visitor | None, generation: str = "", gender: str = "") -> str:
    """The visitor's stored labels win; the request's generation/gender cover unknown visitors."""
    if visitor is not None and (visitor.generation or visitor.gender):
        return segment_of(visitor.generation, visitor.gender)
    return segment_of(generation, gender)


def candidates(*, search_key: str) -> list[Candidate]:
    """The requested search key's newest images; a favorite with too few → its emotion's others.

    Never another emotion: the original's bug was ignoring the emotion, and an empty garden is a
    valid answer (kiosks show "no images"). With no feedback the ranking keeps this newest order.
    """
    pool = settings.RECOMMEND_CANDIDATES
    minimum = settings.RECOMMEND_MIN_RESULTS
    emotion, _, favorite = search_key.partition("/")
    found = [Candidate(image, 0) for image in garden_selectors.serving_images(search_key=search_key).only(*CANDIDATE_FIELDS)[:pool]]
    if favorite and len(found) < minimum:
        seen = {c.image.id for c in found}
        more = garden_selectors.serving_images_for_emotion(emotion=emotion).exclude(search_key=search_key).only(*CANDIDATE_FIELDS)
        found += [Candidate(image, 1) for image in more[:pool] if image.id not in seen]
    return found


def _search_key_of(key: str) -> str | None:
    try:
        parsed = garden_keys.parse_key(key)
    except garden_keys.InvalidKey:
        return None
    return garden_keys.search_key(parsed.emotion, parsed.favorite)


def visitor_history(*, visitor: Visitor | None) -> VisitorHistory:
    """Likes, dislikes and recent impressions of one visitor (their latest events only)."""
    history = VisitorHistory()
    if visitor is None:
        return history
    rows = list(
        Interaction.objects.filter(visitor=visitor)
        .order_by("-created_at", "-id")
        .values_list("event_type", "item_key", "impression", "created_at")[: settings.RECOMMEND_HISTORY_EVENTS]
    )
    recent_since = timezone.now() - timedelta(minutes=settings.RECOMMEND_RECENT_MINUTES)
    for event_type, item_key, impression, created_at in reversed(rows):
        shown = list(impression or [])
        if event_type == Interaction.Event.CLICK and item_key and item_key not in shown:
            shown.append(item_key)
        for key in shown if event_type != Interaction.Event.DISLIKE else ():
            search_key = _search_key_of(key)
            if search_key:
                history.key_impressions[search_key] = history.key_impressions.get(search_key, 0) + 1
            if created_at >= recent_since:
                history.recently_shown.add(key)
        search_key = _search_key_of(item_key) if item_key else None
        if event_type == Interaction.Event.CLICK:
            history.liked.add(item_key)
            history.disliked.discard(item_key)
            if search_key:
                history.key_likes[search_key] = history.key_likes.get(search_key, 0) + 1
        elif event_type == Interaction.Event.DISLIKE:
            if item_key in history.liked and search_key:
                history.key_likes[search_key] = history.key_likes.get(search_key, 0) - 1
            history.liked.discard(item_key)
            history.disliked.add(item_key)
    return history


def candidate_counts(*, images: list[Image], segment: str, history: VisitorHistory) -> CandidateCounts:
    """Everyone's, the segment's and the visitor's counts for each candidate, in two queries."""
    counts = CandidateCounts.zeros(len(images))
    if not images:
        return counts
    position = {image.id: n for n, image in enumerate(images)}
    segments = [SEGMENT_ALL] + ([segment] if segment else [])
    for image_id, seg, shown, likes in ImageStat.objects.filter(image_id__in=list(position), segment__in=segments).values_list(
        "image_id", "segment", "impressions", "likes"
    ):
        n = position[image_id]
        if seg == SEGMENT_ALL:
            counts.n_all[n], counts.l_all[n] = shown, likes
        else:
            counts.n_seg[n], counts.l_seg[n] = shown, likes
    search_keys = sorted({image.search_key for image in images})
    per_key: dict[tuple[str, str], tuple[int, int]] = {
        (seg, key): (shown, likes)
        for seg, key, shown, likes in FavoriteStat.objects.filter(segment__in=segments, search_key__in=search_keys).values_list(
            "segment", "search_key", "impressions", "likes"
        )
    }
    for n, image in enumerate(images):
        counts.n_key[n], counts.l_key[n] = per_key.get((SEGMENT_ALL, image.search_key), (0, 0))
        if segment:
            counts.n_keyseg[n], counts.l_keyseg[n] = per_key.get((segment, image.search_key), (0, 0))
        counts.n_vis[n] = history.key_impressions.get(image.search_key, 0)
        counts.l_vis[n] = history.key_likes.get(image.search_key, 0)
    return counts


def popularity(*, image_ids: list[int]) -> np.ndarray:
    """Likes over everyone: the non-personal baseline."""
    found = dict(ImageStat.objects.filter(image_id__in=image_ids, segment=SEGMENT_ALL).values_list("image_id", "likes"))
    return np.array([found.get(i, 0) for i in image_ids], dtype=float)
