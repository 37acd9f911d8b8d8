"""Reads for the recommender."""

from __future__ import annotations

import uuid

from garden import selectors as garden_selectors
from garden.models import Image


def recommended_garden(*, visitor_id: str | uuid.UUID | None, search_key: str) -> list[Image]:
    """The garden for a visitor, best first.

    Until a ranker is trained this is the non-personal order: newest serving images first.
    """
    return list(garden_selectors.serving_images(search_key=search_key).only("key", "emotion", "orientation"))
