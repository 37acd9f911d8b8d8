"""Generation services: turning parameters into stored garden images."""

from __future__ import annotations

from django.utils import timezone

from garden import keys
from garden.models import Image
from garden.services import create_image
from generation.backends import procedural
from generation.imagefile import encode_jpeg

LANDSCAPE_SIZE = (1280, 800)
PORTRAIT_SIZE = (800, 1280)


def paint_procedural_image(
    *, emotion: str, favorite: str, seed: int, width: int, height: int, index: int, timestr: str | None = None, serving: bool = False
) -> Image:
    """Paint one picture with the procedural backend and store it (pool, or serving when asked)."""
    orientation = keys.PORTRAIT if height > width else keys.LANDSCAPE
    key = keys.build_key(
        prefix=keys.SERVING_PREFIX if serving else keys.POOL_PREFIX,
        emotion=emotion,
        favorite=favorite,
        timestr=timestr or keys.new_timestr(timezone.now()),
        index=index,
        orientation=orientation,
    )
    prompt = f"procedural garden: {keys.search_key(emotion, favorite)}"
    parameters = {
        "generator": procedural.GENERATOR_NAME,
        "model_id": procedural.MODEL_ID,
        "prompt": prompt,
        "seed": seed,
        "width": width,
        "height": height,
    }
    picture = procedural.paint(emotion=emotion, favorite=favorite, seed=seed, width=width, height=height)
    return create_image(
        key=key,
        content=encode_jpeg(picture, parameters),
        width=width,
        height=height,
        prompt=prompt,
        seed=seed,
        generator=procedural.GENERATOR_NAME,
        model_id=procedural.MODEL_ID,
        promoted_at=timezone.now() if serving else None,
    )
