"""A1111 answers and the image check: a flagged picture is answered blurred past recognition, and
every picture's verdict is listed in ``info`` (``"safety": [{verdict, score, checker, reason}, …]``)."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from PIL import ImageFilter

from garden.models import Image
from garden.services import read_file
from generation import imagefile
from safety.images import Verdict


def blurred(content: bytes) -> bytes:
    """The picture blurred (radius a tenth of its longer side: shapes, faces and skin are gone),
    in its own format, keeping its EXIF (our parameters) and its XMP digital source type."""
    with PILImage.open(io.BytesIO(content)) as picture:
        kind, exif = picture.format or "PNG", picture.getexif()
        radius = max(picture.size) / 10
        result = picture.convert("RGB").filter(ImageFilter.GaussianBlur(radius))
        buffer = io.BytesIO()
        result.save(buffer, kind, exif=exif.tobytes() if exif else b"", **imagefile.xmp_save_options(picture, kind))
    return buffer.getvalue()


def answer_pictures(images: list[Image], *, send: bool = True) -> tuple[list[bytes], list[dict]]:
    """The files to answer (flagged ones blurred; none when not sent) and each picture's verdict."""
    verdicts = [Verdict.of_image(image) for image in images]
    if not send:
        return [], [verdict.as_dict() for verdict in verdicts]
    contents = []
    for image, verdict in zip(images, verdicts, strict=True):
        content = read_file(image.key)
        contents.append(blurred(content) if verdict.flagged else content)
    return contents, [verdict.as_dict() for verdict in verdicts]
