"""The taste model's fit in a rebuild (recommend.training): the counted impressions and likes per
segment and picture, the pictures' looks (garden.looks, read for the pictures shown) and their
keys' fields, into recommend.taste.fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.special

from garden import selectors as garden_selectors
from recommend import ranking, taste

MIN_IMPRESSIONS = 5
DEFAULT_STRENGTH = 20.0  # until 20 cells have been seen MIN_IMPRESSIONS times


@dataclass(frozen=True)
class FittedTaste:
    taste: taste.Taste
    # How far a picture's rate within a segment strays from the prediction (ranking.prior_strength,
    # pseudo-impressions): the weight of the prediction against the segment's counts of the picture.
    strength: float


def fit_taste(table: ranking.FeedbackTable, *, image_ids: np.ndarray, image_key: np.ndarray, search_keys: list[str]) -> FittedTaste | None:
    """The taste model fitted on ``table`` (counts over the catalog ``image_ids``, whose search keys
    are ``search_keys[image_key]``); None before any impression."""
    seen = np.flatnonzero(table.img_n[0] > 0)
    if not len(seen):
        return None
    looks = garden_selectors.looks_of(image_ids[seen].tolist())
    fields = taste.key_fields(search_keys)[image_key[seen]]
    named = table.img_n[1:, seen], np.maximum(table.img_l[1:, seen], 0)
    # Events of visitors with no segment are counted for everyone only: their row is what is left.
    unknown = table.img_n[0, seen] - named[0].sum(axis=0), np.maximum(table.img_l[0, seen], 0) - named[1].sum(axis=0)
    rows, columns = np.nonzero(named[0])
    lone = np.flatnonzero(unknown[0] > 0)
    fitted = taste.fit(
        cell_segment=np.concatenate([rows, np.full(len(lone), -1)]),
        cell_image=np.concatenate([columns, lone]),
        impressions=np.concatenate([named[0][rows, columns], unknown[0][lone]]),
        likes=np.concatenate([named[1][rows, columns], np.maximum(unknown[1][lone], 0)]),
        looks=looks,
        fields=fields,
        segments=list(table.segments[1:]),
    )
    if fitted is None:
        return None
    # Cells seen a few times measure the spread (a noisy estimate the noise term corrects).
    design = fitted.design(looks, fields)
    shown, liked, predicted = [], [], []
    for row, segment in enumerate(table.segments[1:]):
        cells = np.flatnonzero(named[0][row] >= MIN_IMPRESSIONS)
        shown.append(named[0][row, cells])
        liked.append(named[1][row, cells])
        predicted.append(scipy.special.expit(fitted.logits(design[cells], segment)))
    strength = ranking.prior_strength(
        np.concatenate(liked or [np.zeros(0)]),
        np.concatenate(shown or [np.zeros(0)]),
        np.concatenate(predicted or [np.zeros(0)]),
        DEFAULT_STRENGTH,
    )
    return FittedTaste(fitted, strength)
