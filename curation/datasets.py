"""Personalize-style CSV data sets (users, items, interactions), as the original recommender used."""

from __future__ import annotations

import csv
from pathlib import Path

from garden.models import Image, Visitor
from recommend.models import Interaction

USERS_HEADER = ["USER_ID", "GENERATION", "GENDER", "EMOTION"]
ITEMS_HEADER = ["ITEM_ID", "TIMESTAMP", "EMOTION"]
INTERACTIONS_HEADER = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "IMPRESSION"]


def write_personalize_csvs(*, folder: Path, all_images: bool = False) -> dict[str, int]:
    """Write users.csv, items.csv and interactions.csv; items are serving images unless all_images."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    with open(folder / "users.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(USERS_HEADER)
        rows = Visitor.objects.order_by("first_seen", "id").values_list("id", "age_group", "gender", "emotion")
        counts["users"] = _write_rows(writer, ([str(pk), age_group, gender, emotion.upper()] for pk, age_group, gender, emotion in rows))
    with open(folder / "items.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ITEMS_HEADER)
        images = Image.objects.all_pictures() if all_images else Image.objects.serving()
        rows = images.order_by("created_at", "id").values_list("key", "created_at", "search_key")
        counts["items"] = _write_rows(writer, ([key, int(created.timestamp()), search_key] for key, created, search_key in rows))
    with open(folder / "interactions.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(INTERACTIONS_HEADER)
        rows = Interaction.objects.order_by("created_at", "id").values_list(
            "visitor_id", "item_key", "created_at", "event_type", "impression"
        )
        counts["interactions"] = _write_rows(
            writer,
            (
                [str(visitor), key, int(created.timestamp()), event, "|".join(impression or [])]
                for visitor, key, created, event, impression in rows
            ),
        )
    return counts


def _write_rows(writer, rows) -> int:
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
