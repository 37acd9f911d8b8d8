"""The picture an image-to-image job starts from, at the size of each of its batches.

A text-to-image job whose ``options`` hold ``init_image`` (a garden image's id, see
generation.init_image) is painted by the model's image-to-image pipeline from that image. A bulk
job paints a landscape and its portrait twin per index, so each batch starts from the image in its
own orientation: the image itself, else its twin of the same bulk pair (the same key in the other
orientation, pool or serving), else the image cropped to the batch's shape around its centre. The
picture is then resized to the batch's size.
"""

from __future__ import annotations

import io

from PIL import Image as PILImage
from PIL import ImageOps

from garden import keys
from garden.models import Image
from garden.services import read_file
from generation.backends import BackendError
from generation.imagefile import as_rgb


def init_picture(image_id: int, *, width: int, height: int) -> PILImage.Image:
    """The RGB picture a batch of ``width`` x ``height`` starts from; BackendError if it is gone."""
    image = Image.objects.with_id(image_id).first()
    if image is None:
        raise BackendError(f"The init image #{image_id} no longer exists.")
    if _shape(image.width, image.height) != _shape(width, height):
        image = _twin(image) or image
    try:
        content = read_file(image.key)
    except FileNotFoundError:
        raise BackendError(f"The file of init image #{image.pk} ({image.key}) is missing.") from None
    try:
        with PILImage.open(io.BytesIO(content)) as opened:  # our own stored JPEG or PNG
            picture, _ = as_rgb(opened)
    except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
        raise BackendError(f"The file of init image #{image.pk} ({image.key}) is not a readable picture: {exc}") from None
    if picture.size == (width, height):
        return picture
    return ImageOps.fit(picture, (width, height), method=PILImage.Resampling.LANCZOS)


def _shape(width: int, height: int) -> str:
    return keys.PORTRAIT if height > width else keys.LANDSCAPE


def _twin(image: Image) -> Image | None:
    """The other orientation of ``image``'s bulk pair, wherever it is now (pool or serving)."""
    try:
        twin = keys.twin_key(image.key)
    except keys.InvalidKey:
        return None
    candidates = [twin, keys.with_prefix(twin, keys.SERVING_PREFIX), keys.with_prefix(twin, keys.POOL_PREFIX)]
    return Image.objects.with_keys(candidates).first()  # keys are unique: at most one is there
