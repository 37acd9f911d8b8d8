"""Rankers behind one interface: the local counting model (default), a popularity baseline, and
AWS Personalize (optional, falls back to the local model on any error)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
from django.conf import settings

from garden.models import Image
from recommend import ranking, selectors, store

log = logging.getLogger(__name__)


@dataclass
class RankRequest:
    visitor_id: str | None
    segment: str
    search_key: str
    candidates: list[selectors.Candidate]
    history: selectors.VisitorHistory


@dataclass
class Event:
    """What a backend may mirror elsewhere (Personalize put_events); always recorded locally first."""

    visitor_id: str
    event_type: str
    item_key: str
    impression: list[str]
    recommendation_id: int | None
    sent_at: datetime


@dataclass
class Ranked:
    images: list[Image]
    label: str  # ranker and model version, stored on the Recommendation row


class Ranker:
    """Orders candidates best first. Subclasses implement ``order`` (scores, and impressions for
    the exploration slot); ``rank`` adds the rules every ranker obeys: dislikes removed, repeats
    last, exploration slot, result size. Instances are shared between threads: no per-request
    state on ``self``."""

    name = "base"

    def label(self) -> str:
        return self.name

    def order(self, request: RankRequest) -> tuple[np.ndarray, np.ndarray | None]:  # pragma: no cover - interface
        raise NotImplementedError

    def rank(self, request: RankRequest) -> Ranked:
        request = self.without_dislikes(request)
        if not request.candidates:
            return Ranked([], self.label())
        scores, impressions = self.order(request)
        return Ranked(self.arrange(request, scores, impressions), self.label())

    @staticmethod
    def without_dislikes(request: RankRequest) -> RankRequest:
        kept = [c for c in request.candidates if c.image.key not in request.history.disliked]
        return RankRequest(**{**request.__dict__, "candidates": kept})

    @staticmethod
    def arrange(request: RankRequest, scores: np.ndarray, impressions: np.ndarray | None) -> list[Image]:
        history = request.history
        items = [
            ranking.Item(
                id=c.image.id,
                orientation=c.image.orientation,
                tier=c.tier,
                score=float(scores[n]),
                impressions=float(impressions[n]) if impressions is not None else float("inf"),
                demoted=c.image.key in history.liked or c.image.key in history.recently_shown,
                extra={"image": c.image},
            )
            for n, c in enumerate(request.candidates)
        ]
        arranged = ranking.arrange(
            items, explore_every=settings.RECOMMEND_EXPLORE_EVERY, fresh_impressions=settings.RECOMMEND_FRESH_IMPRESSIONS
        )
        return [item.extra["image"] for item in arranged][: settings.RECOMMEND_MAX_RESULTS]

    def record_event(self, event: Event) -> None:
        """Local counters are updated by the services; other backends mirror events here."""


class CountingRanker(Ranker):
    name = "counting"

    def label(self) -> str:
        return store.current_model().label

    def order(self, request: RankRequest) -> tuple[np.ndarray, np.ndarray | None]:
        model = store.current_model()
        images = [c.image for c in request.candidates]
        counts = selectors.candidate_counts(images=images, segment=request.segment, history=request.history)
        als = None
        if model.als is not None and model.params.als_weight and request.history.like_count >= model.params.als_min_likes:
            liked_ids = list(Image.objects.filter(key__in=request.history.liked).values_list("id", flat=True))
            user = model.als.user_vector(liked_ids)
            if user is not None:
                als = ranking.standardise(model.als.scores(user, [i.id for i in images]))
        return ranking.score(counts, model.params, als=als), counts.n_all


class PopularityRanker(Ranker):
    """Most-liked first, no exploration: the baseline the benchmarks compare against."""

    name = "popularity"

    def order(self, request: RankRequest) -> tuple[np.ndarray, np.ndarray | None]:
        return selectors.popularity(image_ids=[c.image.id for c in request.candidates]), None


class PersonalizeRanker(Ranker):
    """AWS Personalize get_recommendations filtered by the emotion; local model on any failure."""

    name = "personalize"

    def __init__(self, *, runtime=None, events=None):
        self.runtime = runtime
        self.events = events
        self.local = CountingRanker()

    def _client(self, service: str):
        import boto3

        return boto3.client(service, region_name=settings.RECOMMEND_PERSONALIZE_REGION or None)

    def rank(self, request: RankRequest) -> Ranked:
        request = self.without_dislikes(request)
        if not request.candidates:
            return Ranked([], self.name)
        try:
            runtime = self.runtime or self._client("personalize-runtime")
            arguments = {
                "campaignArn": settings.RECOMMEND_PERSONALIZE_CAMPAIGN_ARN,
                "userId": request.visitor_id or "anonymous",
                "numResults": min(max(settings.RECOMMEND_MAX_RESULTS, 1), 500),
            }
            if settings.RECOMMEND_PERSONALIZE_FILTER_ARN:
                # The original forgot the emotion; a Personalize filter such as
                # INCLUDE ItemID WHERE Items.EMOTION IN ($EMOTION) restores it.
                arguments["filterArn"] = settings.RECOMMEND_PERSONALIZE_FILTER_ARN
                arguments["filterValues"] = {"EMOTION": json.dumps(request.search_key)}
            answer = runtime.get_recommendations(**arguments)
        except Exception:  # network, credentials, throttling, bad ARN: the kiosk still gets a garden
            log.warning("Personalize failed; using the local ranker", exc_info=True)
            ranked = self.local.rank(request)
            return Ranked(ranked.images, f"personalize-fallback:{ranked.label}")
        position = {item["itemId"]: n for n, item in enumerate(answer.get("itemList", []))}
        # Items Personalize did not return keep the local order behind those it did.
        local, impressions = self.local.order(request)
        personal = np.array([-position.get(c.image.key, len(position)) for c in request.candidates], dtype=float)
        scores = personal * 1e3 + ranking.standardise(local)
        return Ranked(self.arrange(request, scores, impressions), self.name)

    def record_event(self, event: Event) -> None:
        if not settings.RECOMMEND_PERSONALIZE_TRACKING_ID:
            return
        payload = {"eventType": event.event_type, "sentAt": event.sent_at}
        if event.item_key:
            payload["itemId"] = event.item_key
        if event.impression:
            payload["impression"] = event.impression[:25]
        if event.recommendation_id:
            payload["recommendationId"] = str(event.recommendation_id)
        try:
            client = self.events or self._client("personalize-events")
            client.put_events(
                trackingId=settings.RECOMMEND_PERSONALIZE_TRACKING_ID,
                userId=event.visitor_id,
                sessionId=event.visitor_id,
                eventList=[payload],
            )
        except Exception:  # the local row is already committed: never fail the kiosk for a mirror
            log.warning("Personalize put_events failed; the event is kept locally", exc_info=True)


@lru_cache(maxsize=1)
def _configured(backend: str) -> Ranker:
    if backend == "personalize":
        return PersonalizeRanker()
    if backend == "popularity":
        return PopularityRanker()
    return CountingRanker()


def get_ranker() -> Ranker:
    return _configured(settings.RECOMMEND_BACKEND)
