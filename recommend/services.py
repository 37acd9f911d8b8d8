"""State changes for interactions."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

from django.db import transaction

from garden.models import Image
from garden.services import touch_visitor
from recommend.models import Interaction


class UnknownImage(LookupError):
    pass


def normalize_key(key: str) -> str:
    """Keys cut out of URLs may arrive percent-encoded (`%2C`); keys never contain `%` themselves."""
    return unquote(key.strip())


@transaction.atomic
def record_like(*, visitor_id: uuid.UUID, item_key: str, impression: list[str]) -> Interaction:
    """Store a like as its own row: two likes in the same instant are two rows, none lost."""
    item_key, impression = normalize_key(item_key), [normalize_key(key) for key in impression]
    image = Image.objects.filter(key=item_key).only("id", "key").first()
    if image is None:
        raise UnknownImage(item_key)
    visitor = touch_visitor(visitor_id=visitor_id)
    return Interaction.objects.create(
        visitor=visitor,
        image=image,
        item_key=item_key,
        event_type=Interaction.Event.CLICK,
        impression=impression or [item_key],
    )
