"""The taste model's fit in a rebuild (recommend.training): the counted impressions and likes per
segment and picture, the pictures' looks (garden.looks, read for the pictures shown) and their
keys' fields, into recommend.taste.fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.special

from garden import selectors as garden_selectors
from recommend import feedback, taste

MIN_IMPRESSIONS = 5
DEFAULT_STRENGTH = 20.0  # until 20 cells have been seen MIN_IMPRESSIONS times


@dataclass(frozen=True)
class FittedTaste:
    taste: taste.Taste
    # How far a picture's rate within a segment strays from the prediction (feedback.prior_strength,
    # pseudo-impressions): the weight of the prediction against the segment's counts of the picture.
    strength: float


def fit_taste(table: feedback.FeedbackTable, *, image_ids: np.ndarray, image_key: np.ndarray, search_keys: list[str]) -> FittedTaste | None:
    """The taste model fitted on ``table`` (counts over the catalog ``image_ids``, whose search keys
    are ``search_keys[image_key]``); None before any impression."""
    seen = np.flatnonzero(table.img_n[0] > 0)
    if not len(seen):
        return None
    named = table.img_n[1:, seen], np.maximum(table.img_l[1:, seen], 0)
    # Events of visitors with no segment are counted for everyone only: their row is what is left.
    unknown = table.img_n[0, seen] - named[0].sum(axis=0), np.maximum(table.img_l[0, seen], 0) - named[1].sum(axis=0)
    rows, columns = np.nonzero(named[0])
    lone = np.flatnonzero(unknown[0] > 0)
    cell_segment = np.concatenate([rows, np.full(len(lone), -1)])
    cell_column = np.concatenate([columns, lone])
    shown = np.concatenate([named[0][rows, columns], unknown[0][lone]])
    liked = np.concatenate([named[1][rows, columns], np.maximum(unknown[1][lone], 0)])
    keep, scale = taste.sample_cells(len(shown))
    if keep is not None:
        cell_segment, cell_column, shown, liked = cell_segment[keep], cell_column[keep], shown[keep], liked[keep]
    # Only the pictures of the cells fitted are read and designed.
    pictures, cell_image = np.unique(cell_column, return_inverse=True)
    looks = garden_selectors.looks_of(image_ids[seen[pictures]].tolist())
    fields = taste.key_fields(search_keys)[image_key[seen[pictures]]]
    fitted = taste.fit(
        cell_segment=cell_segment,
        cell_image=cell_image,
        impressions=shown,
        likes=liked,
        looks=looks,
        fields=fields,
        segments=list(table.segments[1:]),
        scale=scale,
    )
    if fitted is None:
        return None
    # Cells seen a few times measure the spread (a noisy estimate the noise term corrects).
    often = shown >= MIN_IMPRESSIONS  # with no segment (-1), everyone's coefficients: the zero row appended below
    design = fitted.design(looks, fields)[cell_image[often]]
    segment_rows = cell_segment[often]
    bias = fitted.bias + np.append(fitted.segment_bias, 0.0)[segment_rows]
    weights = fitted.weights + np.vstack([fitted.segment_weights, np.zeros(len(fitted.weights))])[segment_rows]
    predicted = scipy.special.expit(bias + np.einsum("ij,ij->i", design, weights))
    strength = feedback.prior_strength(liked[often].astype(float), shown[often].astype(float), predicted, DEFAULT_STRENGTH)
    return FittedTaste(fitted, strength)
