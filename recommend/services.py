"""State changes for the recommender: events (with their counters) and served recommendations."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from django.db import connection, transaction
from django.utils import timezone

from garden.models import Image, Visitor
from garden.services import touch_visitor
from recommend import rankers, selectors
from recommend.models import FavoriteStat, ImageStat, Interaction, Recommendation
from recommend.ranking import SEGMENT_ALL, segment_of


class UnknownImage(LookupError):
    pass


def normalize_key(key: str) -> str:
    """Keys cut out of URLs may arrive percent-encoded (`%2C`); keys never contain `%` themselves."""
    return unquote(key.strip())


# --- Counters -------------------------------------------------------------------------------------


def _upsert(table: str, conflict: tuple[str, ...], columns: tuple[str, ...], increments: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n: one atomic statement, so
    concurrent events add up instead of overwriting each other (same SQL on SQLite and PostgreSQL).
    Rows go in a fixed order so two transactions never lock the same rows in opposite orders."""
    if not rows:
        return
    rows = sorted(rows)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in increments)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def bump_counters(*, segment: str, shown: Iterable[Image], liked: Image | None = None, like_delta: int = 0, disliked: Image | None = None):
    """Add one event to the everyone and segment counters of each image and search key."""
    segments = [SEGMENT_ALL] + ([segment] if segment else [])
    images: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    favorites: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for seg in segments:
        for image in shown:
            images[(seg, image.id)][0] += 1
            favorites[(seg, image.search_key)][0] += 1
        if liked is not None and like_delta:
            images[(seg, liked.id)][1] += like_delta
            favorites[(seg, liked.search_key)][1] += like_delta
        if disliked is not None:
            images[(seg, disliked.id)][2] += 1
    _upsert(
        ImageStat._meta.db_table,
        ("image_id", "segment"),
        ("image_id", "segment", "impressions", "likes", "dislikes"),
        ("impressions", "likes", "dislikes"),
        [(image_id, seg, *values) for (seg, image_id), values in images.items()],
    )
    _upsert(
        FavoriteStat._meta.db_table,
        ("segment", "search_key"),
        ("segment", "search_key", "impressions", "likes"),
        ("impressions", "likes"),
        [(seg, key, *values) for (seg, key), values in favorites.items()],
    )


# --- Events ---------------------------------------------------------------------------------------


def _images_by_key(keys: Iterable[str]) -> dict[str, Image]:
    wanted = set(keys)
    return {image.key: image for image in Image.objects.filter(key__in=wanted).only("id", "key", "emotion", "favorite", "search_key")}


def _recommendation_id(value) -> int | None:
    """Attribution is best effort: an unknown or malformed id is dropped, never an error."""
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if Recommendation.objects.filter(pk=value).exists() else None


def _mirror(*, visitor: Visitor, interaction: Interaction) -> None:
    event = rankers.Event(
        visitor_id=str(visitor.id),
        event_type=interaction.event_type,
        item_key=interaction.item_key,
        impression=list(interaction.impression),
        recommendation_id=interaction.recommendation_id,
        sent_at=interaction.created_at,
    )
    transaction.on_commit(lambda: rankers.get_ranker().record_event(event))


@transaction.atomic
def record_like(*, visitor_id: uuid.UUID, item_key: str, impression: list[str], recommendation_id=None) -> Interaction:
    """Store a like as its own row: two likes in the same instant are two rows, none lost.

    The on-screen keys stay on the click row (the Personalize-style export wants them there);
    no separate impression rows are written, the counters take the impressions from this row.
    """
    item_key, impression = normalize_key(item_key), [normalize_key(key) for key in impression or []]
    shown_keys = list(dict.fromkeys([*impression, item_key]))
    images = _images_by_key(shown_keys)
    image = images.get(item_key)
    if image is None:
        raise UnknownImage(item_key)
    visitor = touch_visitor(visitor_id=visitor_id)
    # The row goes in before the counters: a rebuild that holds the counter lock then either
    # sees this row (committed) or not, and the blocked counter update lands after it.
    interaction = Interaction.objects.create(
        visitor=visitor,
        image=image,
        item_key=item_key,
        event_type=Interaction.Event.CLICK,
        impression=impression or [item_key],
        recommendation_id=_recommendation_id(recommendation_id),
    )
    bump_counters(segment=segment_of(visitor.generation, visitor.gender), shown=images.values(), liked=image, like_delta=1)
    _mirror(visitor=visitor, interaction=interaction)
    return interaction


@transaction.atomic
def record_impression(*, visitor_id: uuid.UUID, impression: list[str], recommendation_id=None) -> Interaction:
    """A screen the visitor saw without liking anything: implicit negatives for its images.
    Keys not in the garden are kept on the row but not counted."""
    keys = list(dict.fromkeys(normalize_key(key) for key in impression))
    images = _images_by_key(keys)
    visitor = touch_visitor(visitor_id=visitor_id)
    interaction = Interaction.objects.create(
        visitor=visitor,
        event_type=Interaction.Event.IMPRESSION,
        impression=keys,
        recommendation_id=_recommendation_id(recommendation_id),
    )
    bump_counters(segment=segment_of(visitor.generation, visitor.gender), shown=images.values())
    _mirror(visitor=visitor, interaction=interaction)
    return interaction


@transaction.atomic
def record_dislike(*, visitor_id: uuid.UUID, item_key: str, recommendation_id=None) -> Interaction:
    """Undo a like (the like row stays; the dislike row cancels it) and hide the image from this
    visitor's gardens. A dislike without an earlier like is kept as an explicit negative."""
    item_key = normalize_key(item_key)
    image = _images_by_key([item_key]).get(item_key)
    if image is None:
        raise UnknownImage(item_key)
    visitor = touch_visitor(visitor_id=visitor_id)
    previous = Interaction.objects.filter(visitor=visitor, image=image, event_type__in=[Interaction.Event.CLICK, Interaction.Event.DISLIKE])
    clicks = sum(1 for event in previous.values_list("event_type", flat=True) if event == Interaction.Event.CLICK)
    dislikes = previous.count() - clicks
    interaction = Interaction.objects.create(
        visitor=visitor,
        image=image,
        item_key=item_key,
        event_type=Interaction.Event.DISLIKE,
        recommendation_id=_recommendation_id(recommendation_id),
    )
    bump_counters(
        segment=segment_of(visitor.generation, visitor.gender),
        shown=(),
        liked=image,
        like_delta=-1 if clicks > dislikes else 0,
        disliked=image,
    )
    _mirror(visitor=visitor, interaction=interaction)
    return interaction


# --- Serving --------------------------------------------------------------------------------------


@dataclass
class Garden:
    images: list[Image]
    recommendation_id: int
    ranker: str


def serve_garden(*, visitor_id, search_key: str, generation: str = "", gender: str = "") -> Garden:
    """Rank the garden for this visitor and keep a Recommendation row for attribution."""
    visitor = selectors.find_visitor(visitor_id=visitor_id)
    request = rankers.RankRequest(
        visitor_id=str(visitor.id) if visitor else (str(visitor_id) if visitor_id else None),
        segment=selectors.visitor_segment(visitor=visitor, generation=generation, gender=gender),
        search_key=search_key,
        candidates=selectors.candidates(search_key=search_key),
        history=selectors.visitor_history(visitor=visitor),
    )
    ranked = rankers.get_ranker().rank(request)
    recommendation = Recommendation.objects.create(
        visitor=visitor,
        search_key=search_key,
        keys=[image.key for image in ranked.images],
        ranker=ranked.label[:64],
        created_at=timezone.now(),
    )
    return Garden(images=ranked.images, recommendation_id=recommendation.pk, ranker=ranked.label)
