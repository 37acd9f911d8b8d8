"""The serving cache: what /garden keeps between requests in a web process, in one place.

Everything here is derived from rows and can be read again; it is kept so a request only reads the
visitor's context and ranks arrays. Entries live under the serving set's version
(garden.models.ServingState): a new version drops them all. Under it, per site address and search key:

- the candidate set (recommend.candidates): ids, keys, orientations, tiers, rendered entries;
- per segment, everyone's and the segment's counters, kept while the emotion's counters token
  (recommend.tokens) is unchanged, and the base order built from them and the model
  (recommend.precomputed);
- the Thompson challengers' entry, shared by the segments, kept under the token and the model.

And the loaded model (recommend.store), replaced when the published model version changes.

Both are registered in config.caches, whose ``reset_all()`` empties them with every other cache.
"""

from __future__ import annotations

import threading

from config import caches
from config.memo import VersionedMemo
from garden import selectors as garden_selectors
from recommend import precomputed, selectors, store
from recommend.candidates import CandidateSet, load_candidates
from recommend.ranking import CandidateCounts

MAX_ENTRIES = 10_000  # candidate sets, counters, orders and challengers together; the oldest goes first


class ServingCache:
    def __init__(self) -> None:
        self._memo = VersionedMemo(
            max_entries=MAX_ENTRIES,
            owner=__name__,
            name="cache._memo",
            key="(kind, site base, search key[, segment]): candidates, counters, base orders, Thompson odds",
            fresh="the serving version (ServingState); counters and orders also the emotion's counter token and the model",
        )
        self._model: store.LoadedModel | None = None
        self._model_lock = threading.Lock()
        caches.register(
            self.forget_model,
            owner=__name__,
            name="cache._model",
            key="nothing: the latest model",
            fresh="the published model version (recommend.store)",
            rows=True,
        )

    def candidates(self, *, search_key: str, request, serving_version: str | None = None) -> CandidateSet:
        """The candidates of ``search_key`` for the current serving version and this site address.
        ``serving_version``: the version when the caller has just read it (before the rows, as
        VersionedMemo asks); otherwise it is read here."""
        version = garden_selectors.serving_version() if serving_version is None else serving_version
        base = garden_selectors.site_base(request)
        found = self._memo.get(version, ("candidates", base, search_key))
        if found is None:
            found = load_candidates(search_key=search_key, request=request, serving_version=version, site_base=base)
            self._memo.put(version, ("candidates", base, search_key), found)
        return found

    def counts(self, *, candidates: CandidateSet, segment: str, token: str) -> CandidateCounts:
        """Everyone's and the segment's counters of non-empty ``candidates`` (n_vis, l_vis zero): the
        same object while ``token`` (read before this call, as it must be) is unchanged."""
        key = ("counts", *_place(candidates), segment)
        kept = self._memo.get(candidates.serving_version, key)
        if kept is not None and kept[0] == token:
            return kept[1]
        counts = selectors.read_counts(candidates=candidates, segment=segment)
        self._memo.put_if_current(candidates.serving_version, key, (token, counts))
        return counts

    def base_order(self, *, candidates: CandidateSet, segment: str, model: store.LoadedModel, token: str) -> precomputed.BaseOrder:
        """The base order of non-empty ``candidates`` for ``segment``, built again when its counts
        or the model are no longer the current ones."""
        counts = self.counts(candidates=candidates, segment=segment, token=token)
        kept = self.kept_order(candidates, segment)
        if kept is not None and kept.counts is counts and kept.model is model:
            return kept
        view = precomputed.taste_view(candidates, segment, model)
        built = precomputed.build_base_order(
            candidates=candidates,
            counts=counts,
            model=model,
            thompson=self._thompson(candidates, counts, model, token, segment, view),
            view=view,
        )
        self._memo.put_if_current(candidates.serving_version, ("order", *_place(candidates), segment), built)
        return built

    def kept_order(self, candidates: CandidateSet, segment: str) -> precomputed.BaseOrder | None:
        return self._memo.get(candidates.serving_version, ("order", *_place(candidates), segment))

    def _thompson(
        self,
        candidates: CandidateSet,
        counts: CandidateCounts,
        model: store.LoadedModel,
        token: str,
        segment: str,
        view: precomputed.TasteView | None,
    ) -> precomputed.Thompson:
        """Without a taste model Thompson weighs everyone's counters only, never the segment's, so the
        segments share one entry and its odds under the same token and model; with one, each
        segment's posteriors are its own (ranking.thompson_posteriors)."""
        key = ("thompson", *_place(candidates)) + ((segment,) if model.taste is not None else ())
        kept = self._memo.get(candidates.serving_version, key)
        if kept is not None and kept[0] == token and kept[1] is model:
            return kept[2]
        built = precomputed.Thompson(counts, model.params, candidates.portrait, view.prior if view else None)
        self._memo.put_if_current(candidates.serving_version, key, (token, model, built))
        return built

    def model(self, version: int | None = None) -> store.LoadedModel:
        """The latest model, loaded once per version; ``version``: the latest version id when the
        caller already read it (/garden, in recommend.selectors.garden_context)."""
        version = store.latest_version_id() if version is None else int(version)
        model = self._model
        if model is not None and model.version == version:
            return model
        with self._model_lock:
            if self._model is None or self._model.version != version:
                self._model = store.load_model(version)
            return self._model

    def forget_model(self) -> None:
        self._model = None


def _place(candidates: CandidateSet) -> tuple[str, str]:
    return candidates.site_base, candidates.search_key


cache = ServingCache()
