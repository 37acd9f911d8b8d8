"""The demo garden: procedural pictures stored straight into the pool or serving, outside jobs.

``manage.py seed_demo_garden`` (and ``make run`` on an empty install) paints with the procedural
backend here; no worker, torch or weights needed.
"""

from __future__ import annotations

from django.utils import timezone

from garden import keys
from garden.models import Image
from garden.services import create_image
from generation.backends import procedural
from generation.imagefile import encode_jpeg
from generation.worker.runner import make_thumbnail
from safety import images as safety_images


def paint_procedural_image(
    *, emotion: str, favorite: str, seed: int, width: int, height: int, index: int, timestr: str | None = None, serving: bool = False
) -> Image:
    """Paint one picture with the procedural backend and store it (pool, or serving when asked and
    the image check does not flag it)."""
    orientation = keys.PORTRAIT if height > width else keys.LANDSCAPE
    picture = procedural.paint(emotion=emotion, favorite=favorite, seed=seed, width=width, height=height)
    verdict = safety_images.check_picture(picture)
    serving = serving and not verdict.flagged
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
    content = encode_jpeg(picture, parameters)
    image = create_image(
        key=key,
        content=content,
        width=width,
        height=height,
        prompt=prompt,
        seed=seed,
        generator=procedural.GENERATOR_NAME,
        model_id=procedural.MODEL_ID,
        promoted_at=timezone.now() if serving else None,
        **verdict.image_fields(),
    )
    make_thumbnail(image=image, content=content)
    return image
