"""Pictures, masks and archives for the retouch tests, and reading results back from storage."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from garden import keys
from garden.models import Image as GardenImage
from garden.services import create_image

WIDTH, HEIGHT = 96, 64
MASK_BOX = (40, 20, 60, 40)  # left, top, right, bottom


def noise(width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def encoded(picture: Image.Image, kind: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, kind, **options)
    return buffer.getvalue()


def mask_png(box=MASK_BOX, size=(WIDTH, HEIGHT)) -> bytes:
    """White on black; ``box=None`` is an empty mask."""
    mask = Image.new("L", size, 0)
    if box is not None:
        mask.paste(255, box)
    return encoded(mask)


def upload(content: bytes, name: str = "picture.png") -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def stored_pixels(key: str) -> np.ndarray:
    with default_storage.open(key, "rb") as handle:
        return np.asarray(Image.open(io.BytesIO(handle.read())))


def garden_image(picture: Image.Image | None = None, *, emotion: str = "happy", favorite: str = "spring,sunny,day") -> GardenImage:
    """A pool image whose file is a real JPEG (as generated gardens are)."""
    picture = picture or noise(seed=11)
    key = keys.build_key(
        prefix=keys.POOL_PREFIX,
        emotion=emotion,
        favorite=favorite,
        timestr=keys.new_timestr(timezone.now()),
        index=0,
        orientation=keys.LANDSCAPE if picture.width >= picture.height else keys.PORTRAIT,
    )
    return create_image(
        key=key, content=encoded(picture, "JPEG", quality=90), width=picture.width, height=picture.height, generator="procedural"
    )


def outside_feather(job_retouch: dict, mask: np.ndarray | None) -> np.ndarray:
    """Every pixel the composite may not touch: outside the rectangle's feathered mask."""
    from retouch import imaging

    width, height = job_retouch["source_size"]
    x, y, w, h = job_retouch["rect"]
    hard = np.ones((h, w), bool) if mask is None else mask[y : y + h, x : x + w]
    blur = job_retouch["mask_blur"]
    alpha = imaging.fade_at_cut_edges(imaging.feather(hard, blur), (x, y, w, h), (width, height), max(4, imaging.feather_reach(blur)))
    touched = np.zeros((height, width), bool)
    touched[y : y + h, x : x + w] = alpha > 0
    return ~touched


def box_mask(box=MASK_BOX, size=(WIDTH, HEIGHT)) -> np.ndarray:
    mask = np.zeros((size[1], size[0]), bool)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = True
    return mask
