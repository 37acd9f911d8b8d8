"""Synthetic kiosk traffic with hidden per-segment tastes, so the offline metrics can be measured
on a fresh install (`manage.py simulate_interactions`). Rows are marked: simulated visitors carry
``features={"simulated": true}``, their images ``generator="simulation"`` (no files), and
``--purge`` removes both."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from garden import keys as garden_keys
from garden import marks, visitor_services
from garden.models import Image, Visitor
from garden.visitors import segment_of
from recommend.models import Interaction

FAVORITES = ("spring,sunny,day", "summer,rainy,sunset", "autumn,cloudy,day", "winter,snowy,the-middle-of-the-night", "cat", "")
GENDERS = ("Male", "Female")
DIM = 4


def purge() -> tuple[int, int]:
    visitors = visitor_services.delete_visitors_marked("simulated")
    images = marks.delete_fileless_images(generator="simulation")
    return visitors, images


@transaction.atomic
def simulate(*, visitors: int = 3000, images_per_key: int = 30, emotions: int = 3, seed: int = 7, regulars: float = 0.05) -> dict:
    """Write images, visitors and their likes/impressions; returns counts."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    start = now - timedelta(days=30)
    age_groups = [g.value for g in Visitor.AgeGroup]
    segments = [(g, s) for g in age_groups for s in GENDERS]
    seg_taste = rng.normal(0, 1.0, size=(len(segments), DIM))
    seg_favorite = rng.dirichlet(np.ones(len(FAVORITES)) * 0.7, size=len(segments))

    emotion_names = garden_keys.EMOTIONS[:emotions]
    images: list[Image] = []
    for emotion in emotion_names:
        for favorite in FAVORITES:
            for index in range(images_per_key):
                orientation = garden_keys.LANDSCAPE if index % 2 == 0 else garden_keys.PORTRAIT
                key = garden_keys.build_key(
                    prefix=garden_keys.SERVING_PREFIX,
                    emotion=emotion,
                    favorite=favorite,
                    timestr=garden_keys.new_timestr(start),
                    index=index,
                    orientation=orientation,
                )
                images.append(
                    Image(
                        key=key,
                        status=Image.Status.SERVING,
                        emotion=emotion,
                        favorite=favorite,
                        orientation=orientation,
                        width=1280 if orientation == "h" else 800,
                        height=800 if orientation == "h" else 1280,
                        generator="simulation",
                        created_at=start - timedelta(seconds=len(images)),
                    )
                )
    marks.add_fileless_images(images, batch_size=1000)
    by_key: dict[tuple[str, str, str], list[Image]] = {}
    for image in images:
        by_key.setdefault((image.emotion, image.favorite, image.orientation), []).append(image)
    latent = {image.key: rng.normal(0, 1, DIM) for image in images}
    quality = {image.key: rng.normal(0, 0.6) for image in images}

    visitor_rows, interactions = [], []
    clock = start
    for _ in range(visitors):
        seg = int(rng.integers(len(segments)))
        age_group, gender = segments[seg]
        taste = seg_taste[seg] + rng.normal(0, 0.5, DIM)
        visitor = Visitor(
            age_group=age_group,
            gender=gender,
            segment=segment_of(age_group, gender),  # bulk_create skips save(), which keeps it
            emotion="",
            features={"simulated": True},
            first_seen=clock,
            last_seen=clock,
        )
        visitor_rows.append(visitor)
        screens = int(rng.integers(20, 40)) if rng.random() < regulars else 1 + int(rng.geometric(0.35))
        seen: set[str] = set()
        for _screen in range(min(screens, 40)):
            emotion = emotion_names[int(rng.integers(len(emotion_names)))]
            favorite = FAVORITES[int(rng.choice(len(FAVORITES), p=seg_favorite[seg]))]
            orientation = "h" if rng.random() < 0.5 else "v"
            pool = [image for image in by_key[(emotion, favorite, orientation)] if image.key not in seen]
            if len(pool) < 3:
                continue
            # Uniform logging policy: offline metrics on these logs are unbiased.
            slate = [pool[i] for i in rng.choice(len(pool), 3, replace=False)]
            utility = np.array([quality[i.key] + latent[i.key] @ taste * 0.6 for i in slate] + [0.8])
            chosen = int(rng.choice(4, p=np.exp(utility) / np.exp(utility).sum()))
            shown = [image.key for image in slate]
            seen.update(shown)
            clock += timedelta(seconds=float(rng.integers(5, 60)))
            if chosen == 3:
                interactions.append(Interaction(visitor=visitor, event_type="impression", impression=shown, created_at=clock))
                continue
            liked = slate[chosen]
            interactions.append(
                Interaction(visitor=visitor, image=liked, item_key=liked.key, event_type="click", impression=shown, created_at=clock)
            )
            if rng.random() < 0.03:
                clock += timedelta(seconds=3)
                interactions.append(Interaction(visitor=visitor, image=liked, item_key=liked.key, event_type="dislike", created_at=clock))
        clock += timedelta(seconds=float(rng.integers(30, 300)))
    visitor_services.add_visitors(visitor_rows, batch_size=2000)
    Interaction.objects.bulk_create(interactions, batch_size=2000)
    return {"images": len(images), "visitors": len(visitor_rows), "interactions": len(interactions)}
