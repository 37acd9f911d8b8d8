"""Rankers behind one interface: the local counting model (default), a popularity baseline, and
AWS Personalize (optional, falls back to the local model on any error)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from config import chance
from config.lazy import Lazy
from garden.models import Image
from recommend import eventlog, precomputed, ranking, selectors, serving, store, tokens
from recommend.candidates import CandidateSet

log = logging.getLogger(__name__)


@dataclass
class RankRequest:
    visitor_id: str | None
    segment: str
    candidates: CandidateSet
    history: selectors.VisitorHistory
    rng: np.random.Generator | None = None  # exploration's draws; None: a fresh unseeded one (tests seed it)
    counters_token: str | None = None  # the emotion's, when the caller read it (/garden); None: read here
    model_version: int | None = None  # the newest model's, likewise

    @property
    def search_key(self) -> str:
        return self.candidates.search_key

    def mask(self, keys: set[str]) -> np.ndarray:
        """Which candidates have one of ``keys``."""
        found = np.zeros(len(self.candidates), dtype=bool)
        positions = [self.candidates.position[key] for key in keys if key in self.candidates.position]
        found[positions] = True
        return found


@dataclass
class Ordering:
    scores: np.ndarray  # per candidate, higher first
    challenge: ranking.Challenge | None  # who may take the exploration slots; None: no exploration
    label: str  # ranker and model version, stored on the Recommendation row


@dataclass
class Ranked:
    landscape: np.ndarray  # candidate indices, best first
    portrait: np.ndarray
    label: str  # ranker and model version, stored on the Recommendation row


class Ranker:
    """Orders candidates best first. Subclasses implement ``order`` (scores, the exploration
    slot's challenge, the label); ``rank`` adds the rules every ranker obeys: dislikes removed, what was
    liked or just shown last, RECOMMEND_MAX_RESULTS per orientation. Instances are shared between
    threads: no per-request state on ``self``."""

    name = "base"
    mirrors_events = False  # True: record_event() sends each event elsewhere (Personalize)

    def order(self, request: RankRequest) -> Ordering:  # pragma: no cover - interface
        raise NotImplementedError

    def rank(self, request: RankRequest) -> Ranked:
        if not len(request.candidates):
            return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), self.name)
        return self.arrange(request, self.order(request))

    @staticmethod
    def arrange(request: RankRequest, ordering: Ordering) -> Ranked:
        history, candidates = request.history, request.candidates
        landscape, portrait = ranking.arrange(
            portrait=candidates.portrait,
            tier=candidates.tier,
            score=ordering.scores,
            demoted=request.mask(history.liked | history.recently_shown),
            keep=~request.mask(history.disliked),
            explore_every=settings.RECOMMEND_EXPLORE_EVERY,
            explore_depth=settings.RECOMMEND_EXPLORE_DEPTH,
            challenge=ordering.challenge,
        )
        limit = settings.RECOMMEND_MAX_RESULTS
        return Ranked(landscape[:limit], portrait[:limit], ordering.label)

    def record_event(self, event: eventlog.Event) -> None:
        """Local counters are updated by the services; other backends mirror events here."""


class CountingRanker(Ranker):
    """Serves from the precomputed order of its search key and segment (recommend.precomputed);
    ``rank_full`` is the path that computes every step per request, which the precomputed one must
    match answer for answer (tests/recommend/test_precomputed.py)."""

    name = "counting"

    def rank(self, request: RankRequest) -> Ranked:
        candidates, history = request.candidates, request.history
        if not len(candidates):
            return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), self.name)
        token = tokens.current(candidates.emotion) if request.counters_token is None else request.counters_token
        model = serving.cache.model(request.model_version)
        if self._als_applies(model, history):  # the ALS term is the visitor's own: nothing to keep
            return self.arrange(request, self._order(request, model, token))
        base = serving.cache.base_order(candidates=candidates, segment=request.segment, model=model, token=token)
        sides, shift = base.sides, None
        if selectors.has_key_history(candidates=candidates, history=history):
            # Their own impressions or likes of a candidate's key move its lift, and what they liked
            # and passed in this visit their taste: exact scores, a new sort.
            counts = selectors.with_visitor(base.counts, candidates=candidates, history=history)
            prior, shift = (base.taste.prior, self._visit_shift(request, base.taste, model)) if base.taste else (None, None)
            sides = precomputed.sides(candidates, ranking.score(counts, model.params, prior=prior, shift=shift))
        challenge = exploration(
            thompson=lambda: base.thompson.challenger(request.rng or chance.numpy_rng(), shift), n_all=base.counts.n_all
        )
        demoted, disliked = history.liked | history.recently_shown, history.disliked
        landscape, portrait = precomputed.arrange(
            candidates=candidates,
            sides=sides,
            demoted=request.mask(demoted) if demoted else None,
            dropped=request.mask(disliked) if disliked else None,
            explore_every=settings.RECOMMEND_EXPLORE_EVERY,
            explore_depth=settings.RECOMMEND_EXPLORE_DEPTH,
            challenge=challenge,
            limit=settings.RECOMMEND_MAX_RESULTS,
        )
        return Ranked(landscape, portrait, model.label)

    def rank_full(self, request: RankRequest) -> Ranked:
        """Every step per request: counts, scores, posteriors, the sort (the reference for ``rank``)."""
        return Ranker.rank(self, request)

    @staticmethod
    def _als_applies(model: store.LoadedModel, history: selectors.VisitorHistory) -> bool:
        return model.als is not None and bool(model.params.als_weight) and history.like_count >= model.params.als_min_likes

    def order(self, request: RankRequest) -> Ordering:
        return self._order(request, serving.cache.model(), tokens.current(request.candidates.emotion))

    def _order(self, request: RankRequest, model: store.LoadedModel, token: str) -> Ordering:
        shared = serving.cache.counts(candidates=request.candidates, segment=request.segment, token=token)
        counts = selectors.with_visitor(shared, candidates=request.candidates, history=request.history)
        als = None
        if self._als_applies(model, request.history):
            liked_ids = list(Image.objects.with_keys(request.history.liked).values_list("id", flat=True))
            user = model.als.user_vector(liked_ids)
            if user is not None:
                als = ranking.standardise(model.als.scores(user, request.candidates.ids.tolist()))
        view = precomputed.taste_view(request.candidates, request.segment, model)
        prior = view.prior if view else None
        shift = self._visit_shift(request, view, model)
        scores = ranking.score(counts, model.params, als=als, prior=prior, shift=shift)
        challenge = exploration(
            thompson=lambda: ranking.thompson_challenger(counts, model.params, request.rng or chance.numpy_rng(), prior, shift),
            n_all=counts.n_all,
        )
        return Ordering(scores, challenge, model.label)

    @staticmethod
    def _visit_shift(request: RankRequest, view: precomputed.TasteView | None, model: store.LoadedModel) -> np.ndarray | None:
        """This visit's taste: what the visitor liked and passed among the candidates shown recently."""
        history = request.history
        if view is None or not history.recently_shown:
            return None
        shown = np.flatnonzero(request.mask(history.recently_shown))
        return precomputed.visit_shift(view, model, shown, request.mask(history.liked))


def exploration(*, thompson: Callable[[], ranking.Challenge], n_all: np.ndarray) -> ranking.Challenge | None:
    """RECOMMEND_EXPLORATION's challenger: ``thompson()`` makes Thompson's; the slot rule needs
    everyone's impressions ``n_all``; "none": no exploration."""
    mode = settings.RECOMMEND_EXPLORATION
    if mode == "thompson":
        return thompson()
    if mode == "slot":
        return ranking.least_shown_challenger(n_all, settings.RECOMMEND_FRESH_IMPRESSIONS)
    return None


class PopularityRanker(Ranker):
    """Most-liked first, no exploration: the baseline the benchmarks compare against."""

    name = "popularity"

    def order(self, request: RankRequest) -> Ordering:
        return Ordering(selectors.popularity(image_ids=request.candidates.ids.tolist()), None, self.name)


class PersonalizeRanker(Ranker):
    """AWS Personalize get_recommendations filtered by the emotion; local model on any failure."""

    name = "personalize"
    mirrors_events = True

    def __init__(self, *, runtime=None, events=None):
        self.runtime = runtime
        self.events = events
        self.local = CountingRanker()

    def _client(self, service: str):
        import boto3

        return boto3.client(service, region_name=settings.RECOMMEND_PERSONALIZE_REGION or None)

    def rank(self, request: RankRequest) -> Ranked:
        if not len(request.candidates):
            return Ranked(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), self.name)
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
            return Ranked(ranked.landscape, ranked.portrait, f"personalize-fallback:{ranked.label}")
        position = {item["itemId"]: n for n, item in enumerate(answer.get("itemList", []))}
        # Items Personalize did not return keep the local order behind those it did.
        local = self.local.order(request)
        personal = np.array([-position.get(key, len(position)) for key in request.candidates.keys], dtype=float)
        scores = personal * 1e3 + ranking.standardise(local.scores)
        return self.arrange(request, Ordering(scores, local.challenge, self.name))

    def record_event(self, event: eventlog.Event) -> None:
        if not settings.RECOMMEND_PERSONALIZE_TRACKING_ID:
            return
        payload = {"eventType": event.event_type, "sentAt": event.created_at}
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


EXPLORATION = ("thompson", "slot", "none")  # RECOMMEND_EXPLORATION
RANKERS = {"local": CountingRanker, "personalize": PersonalizeRanker, "popularity": PopularityRanker}  # RECOMMEND_BACKEND

_ranker: Lazy[Ranker] = Lazy(
    lambda: RANKERS[settings.RECOMMEND_BACKEND](),
    fingerprint=lambda: settings.RECOMMEND_BACKEND,
    owner=__name__,
    name="_ranker",
    fresh="RECOMMEND_BACKEND",
)


def get_ranker() -> Ranker:
    """The configured ranker, one per process (checked at start-up: recommend.apps)."""
    return _ranker.get()
