"""State changes for the recommender: events (with their counters) and served recommendations.

Likes and impressions are written by recommend.eventlog in one round trip (PostgreSQL). Visitor ids are the strings kiosks
send (garden.visitors); an event never creates a Visitor row (only /emotion does), so ids made up
by anyone cost an event row at most, and keys that name no image are dropped, with a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from config import clock
from config.errors import NotFound
from config.outages import after_commit
from garden.selectors import render_listing
from recommend import eventlog, feedback, rankers, selectors, serving
from recommend.candidates import CandidateSet
from recommend.models import Interaction


class UnknownImage(NotFound, LookupError):
    """The key names no image of the garden."""

    def __init__(self, key: str) -> None:
        super().__init__(gettext("Unknown item: %(key)s") % {"key": key})


def normalize_key(key: str) -> str:
    """Keys cut out of URLs may arrive percent-encoded (`%2C`); keys never contain `%` themselves."""
    return unquote(key.strip())


def _attribution(value) -> int | None:
    """The X-Recommendation-Id an event refers to; best effort, a malformed one is dropped."""
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < value < 2**63:
        return None
    return value


def _mirror(event: eventlog.Event) -> None:
    """Let a ranker that mirrors events elsewhere (Personalize) see it, once the row is committed;
    a failure there is logged and counted, never the kiosk's error (the row is stored)."""

    def send() -> None:
        ranker = rankers.get_ranker()
        if ranker.mirrors_events:
            ranker.record_event(event)

    after_commit(send, name="event mirror")


def record_like(*, visitor_id: str, item_key: str, impression: list[str], recommendation_id=None) -> int:
    """Store a like as its own row (two likes in the same instant are two rows, none lost) and
    count it; returns the event id. The on-screen keys stay on the row (the data-set export wants
    them there); keys that name no image are dropped and counted in ``unknown_keys``."""
    item_key = normalize_key(item_key)
    if not item_key:  # "" would make it a screen without a like
        raise UnknownImage(item_key)
    written = eventlog.write_screen(
        visitor_id=visitor_id,
        item_key=item_key,
        impression=list(dict.fromkeys(normalize_key(key) for key in impression or [])),
        recommendation_id=_attribution(recommendation_id),
        created_at=clock.now(),
    )
    if written is None:
        raise UnknownImage(item_key)
    _mirror(written.event)
    return written.id


def record_impression(*, visitor_id: str, impression: list[str], recommendation_id=None) -> int | None:
    """A screen the visitor saw without liking anything: implicit negatives for its images.

    Only keys of garden images are stored and counted; a screen of unknown keys stores nothing
    (None) — there is nothing it could count.
    """
    written = eventlog.write_screen(
        visitor_id=visitor_id,
        item_key="",
        impression=list(dict.fromkeys(normalize_key(key) for key in impression)),
        recommendation_id=_attribution(recommendation_id),
        created_at=clock.now(),
    )
    if written is None:
        return None
    _mirror(written.event)
    return written.id


def import_interactions(interactions: list[Interaction]) -> int:
    """Store events as an export recorded them, in one INSERT, leaving the counters as they are;
    returns how many were stored."""
    return len(Interaction.objects.bulk_create(interactions))


@transaction.atomic
def record_dislike(*, visitor_id: str, item_key: str, recommendation_id=None) -> int:
    """Undo a like (the like row stays; the dislike row cancels it) and hide the image from this
    visitor's gardens. A dislike without an earlier like is kept as an explicit negative."""
    item_key = normalize_key(item_key)
    found = eventlog.look_up(keys=[item_key], visitor_id=visitor_id, recommendation_id=_attribution(recommendation_id))
    image = found.images.get(item_key)
    if image is None:
        raise UnknownImage(item_key)
    # Rare (an undo): the visitor's earlier likes and dislikes of this image decide the delta.
    previous = Interaction.objects.filter(
        visitor_id=visitor_id, image_id=image.id, event_type__in=[Interaction.Event.CLICK, Interaction.Event.DISLIKE]
    ).values_list("event_type", flat=True)
    events = list(previous)
    clicks = events.count(Interaction.Event.CLICK)
    dislikes = len(events) - clicks
    event = eventlog.Event(
        visitor_id=visitor_id,
        event_type=Interaction.Event.DISLIKE,
        created_at=clock.now(),
        image_id=image.id,
        item_key=item_key,
        recommendation_id=found.recommendation_id,
        segment=found.segment,
    )
    # The pair's net likes after this dislike less before it: -1 while it has a like left to undo.
    like_delta = int(feedback.undone_likes(clicks, dislikes) - feedback.undone_likes(clicks, dislikes + 1))
    counts = eventlog.Counts.of(segment=found.segment, shown=(), liked=image, like_delta=like_delta, disliked=image)
    event_id = eventlog.write(event, counts)
    _mirror(event)
    return event_id


# --- Serving --------------------------------------------------------------------------------------


@dataclass
class Garden:
    candidates: CandidateSet
    ranked: rankers.Ranked
    recommendation_id: int

    def render(self) -> bytes:
        """The /garden answer: the ranked candidates' rendered entries, landscape and portrait."""
        entry = self.candidates.entry
        return render_listing((entry(i) for i in self.ranked.landscape), (entry(i) for i in self.ranked.portrait))


def serve_garden(*, visitor_id: str | None, search_key: str, request, age_group: str = "", gender: str = "") -> Garden:
    """Rank the garden for this visitor and keep a (small) Recommendation row for attribution,
    written before the answer. ``request`` is the HTTP request: the answer's absolute image URLs
    use its address."""
    emotion = search_key.partition("/")[0]
    context = selectors.garden_context(visitor_id=visitor_id, emotion=emotion, age_group=age_group, gender=gender)
    candidates = serving.cache.candidates(search_key=search_key, request=request, serving_version=context.serving_version)
    rank_request = rankers.RankRequest(
        visitor_id=visitor_id,
        segment=context.segment,
        candidates=candidates,
        history=context.history,
        counters_token=context.counters_token,
        model_version=context.model_version,
    )
    ranked = rankers.get_ranker().rank(rank_request)
    limit = settings.RECOMMEND_LOGGED_RESULTS
    recommendation_id = eventlog.write_recommendation(
        visitor_id=visitor_id,
        search_key=search_key,
        image_ids=candidates.ids[ranked.landscape[:limit]].tolist() + candidates.ids[ranked.portrait[:limit]].tolist(),
        ranker=ranked.label[:64],
        created_at=clock.now(),
        fallback=candidates.fallback,
    )
    return Garden(candidates=candidates, ranked=ranked, recommendation_id=recommendation_id)
