"""Reads for the recommender: a visitor's segment and history, the counts that score candidates
(the candidates themselves: recommend.candidates)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import orjson
from django.conf import settings
from django.db import connection

from config import clock
from config.sql import hot_cursor, in_list
from garden import keys as garden_keys
from garden import tables
from garden.visitors import segment_of
from recommend import tokens
from recommend.candidates import CandidateSet
from recommend.models import CounterChange, FavoriteStat, ImageStat, Interaction, ModelVersion
from recommend.ranking import SEGMENT_ALL, CandidateCounts


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


def visitor_context(*, visitor_id: str | None, age_group: str = "", gender: str = "") -> tuple[str, VisitorHistory]:
    """The visitor's segment and history (their latest events), in one query.

    The visitor's stored labels decide the segment; the request's age group/gender cover ids that
    never came through /emotion (and anonymous visitors, who have no history).
    """
    context = garden_context(visitor_id=visitor_id, age_group=age_group, gender=gender)
    return context.segment, context.history


@dataclass
class GardenContext:
    segment: str
    history: VisitorHistory
    serving_version: str  # garden.selectors.serving_version(), read in the same statement
    counters_token: str  # the emotion's (recommend.tokens), read before its counters
    model_version: int  # the newest ModelVersion's id (recommend.store), 0 for none


def garden_context(*, visitor_id: str | None, emotion: str = "", age_group: str = "", gender: str = "") -> GardenContext:
    """What /garden reads before ranking: the serving set's version (which the candidate set is
    kept under), the emotion's counters token, the newest model version, the visitor's stored
    labels and their latest events.

    Raw SQL because the reads are one UNION ALL statement, one round trip. The serving version and
    the token are read before the candidate rows and the counters (both are read after this
    returns, and only when none are kept under them), as VersionedMemo and recommend.tokens ask.
    """
    history = VisitorHistory()
    recent_since = clock.now() - timedelta(minutes=settings.RECOMMEND_RECENT_MINUTES)
    q = connection.ops.quote_name
    # Typed NULLs: PostgreSQL types a UNION's columns pair by pair, and NULL with NULL is text.
    sql = (
        f"SELECT 0, 'version', {q(tables.SERVING_STATE_VERSION)}, CAST(NULL AS TEXT), CAST(NULL AS BOOLEAN) "
        f"FROM {q(tables.SERVING_STATE)} WHERE id = 1 "
        f"UNION ALL SELECT 0, 'token', token, CAST(shard AS TEXT), NULL FROM {CounterChange._meta.db_table} WHERE emotion = %s "
        f"UNION ALL SELECT 0, 'model', CAST(max(id) AS TEXT), NULL, NULL FROM {ModelVersion._meta.db_table}"
    )
    params: list = [emotion]
    if visitor_id:
        sql += (
            f" UNION ALL SELECT 0, 'visitor', {q(tables.VISITOR_SEGMENT)}, NULL, NULL FROM {q(tables.VISITOR)} "
            f"WHERE {q(tables.VISITOR_ID)} = %s UNION ALL "
            f"SELECT * FROM (SELECT id, event_type, item_key, CAST(impression AS TEXT), created_at >= %s "
            f"FROM {Interaction._meta.db_table} WHERE visitor_id = %s ORDER BY created_at DESC, id DESC LIMIT %s) AS latest"
        )
        since = connection.ops.adapt_datetimefield_value(recent_since)
        params += [visitor_id, since, visitor_id, settings.RECOMMEND_HISTORY_EVENTS]
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = {row[1]: row for row in rows if row[0] == 0}
    token = tokens.joined((int(row[3]), row[2]) for row in rows if row[0] == 0 and row[1] == "token")
    # The visitor's stored labels decide; the request's cover ids that never came through /emotion.
    segment = (found["visitor"][2] if "visitor" in found else "") or segment_of(age_group, gender)
    events = sorted((row for row in rows if row[0] != 0), key=lambda row: row[0])  # oldest first
    for _, event_type, item_key, impression, recent in events:
        _add_event(history, event_type, item_key, orjson.loads(impression) if impression else [], recent)
    return GardenContext(
        segment=segment,
        history=history,
        serving_version=(found["version"][2] if "version" in found else None) or "",
        counters_token=token,
        model_version=int(found["model"][2] or 0),
    )


def _add_event(history: VisitorHistory, event_type: str, item_key: str, shown: list[str], recent: bool) -> None:
    if event_type == Interaction.Event.CLICK and item_key and item_key not in shown:
        shown.append(item_key)
    for key in shown if event_type != Interaction.Event.DISLIKE else ():
        search_key = garden_keys.search_key_of(key)
        if search_key:
            history.key_impressions[search_key] = history.key_impressions.get(search_key, 0) + 1
        if recent:
            history.recently_shown.add(key)
    search_key = garden_keys.search_key_of(item_key) if item_key else None
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


def with_visitor(shared: CandidateCounts, *, candidates: CandidateSet, history: VisitorHistory) -> CandidateCounts:
    """``shared`` with the visitor's own impressions and likes of each candidate's search key."""
    keys, index = candidates.search_keys, candidates.key_index
    n_vis = np.array([history.key_impressions.get(key, 0) for key in keys], dtype=float)[index]
    l_vis = np.array([history.key_likes.get(key, 0) for key in keys], dtype=float)[index]
    return dataclasses.replace(shared, n_vis=n_vis, l_vis=l_vis)


def has_key_history(*, candidates: CandidateSet, history: VisitorHistory) -> bool:
    """Whether the visitor's own impressions or likes of a candidate's search key move its score
    (the lift r_vk); without them every candidate's lift is its segment's prior."""
    impressions, likes = history.key_impressions, history.key_likes
    return any(impressions.get(key, 0) or likes.get(key, 0) for key in candidates.search_keys)


def read_counts(*, candidates: CandidateSet, segment: str) -> CandidateCounts:
    """Everyone's and the segment's counters of non-empty candidates and their search keys
    (read-only arrays; the visitor's n_vis, l_vis zero). Raw SQL: both tables in one round trip."""
    counts = CandidateCounts.zeros(len(candidates))
    segments = [SEGMENT_ALL] + ([segment] if segment else [])
    ids, keys = candidates.ids.tolist(), candidates.search_keys
    image_in, image_params = in_list("image_id", ids)
    key_in, key_params = in_list("search_key", keys)
    segment_in, segment_params = in_list("segment", segments)
    sql = (
        f"SELECT image_id, NULL, segment, impressions, likes FROM {ImageStat._meta.db_table} WHERE {image_in} AND {segment_in} "
        f"UNION ALL SELECT NULL, search_key, segment, impressions, likes FROM {FavoriteStat._meta.db_table} WHERE {key_in} AND {segment_in}"
    )
    with hot_cursor() as cursor:
        cursor.execute(sql, [*image_params, *segment_params, *key_params, *segment_params])
        rows = cursor.fetchall()
    position = {image_id: n for n, image_id in enumerate(ids)}
    key_number = {key: n for n, key in enumerate(keys)}
    per_key = np.zeros((4, len(keys)))  # everyone's impressions, likes; the segment's impressions, likes
    for image_id, search_key, seg, shown, likes in rows:
        if image_id is not None:
            n = position[image_id]
            if seg == SEGMENT_ALL:
                counts.n_all[n], counts.l_all[n] = shown, likes
            else:
                counts.n_seg[n], counts.l_seg[n] = shown, likes
        else:
            row = 0 if seg == SEGMENT_ALL else 2
            per_key[row : row + 2, key_number[search_key]] = shown, likes
    index = candidates.key_index
    counts.n_key, counts.l_key = per_key[0, index], per_key[1, index]
    if segment:
        counts.n_keyseg, counts.l_keyseg = per_key[2, index], per_key[3, index]
    for column in dataclasses.fields(counts):
        getattr(counts, column.name).flags.writeable = False  # shared by the requests of this process
    return counts


def popularity(*, image_ids: list[int]) -> np.ndarray:
    """Likes over everyone: the non-personal baseline."""
    found = dict(ImageStat.objects.filter(image_id__in=image_ids, segment=SEGMENT_ALL).values_list("image_id", "likes"))
    return np.array([found.get(i, 0) for i in image_ids], dtype=float)
