"""ControlNet preprocessor nodes → the project's edge detectors (retouch.edges), by the A1111
ControlNet unit ``module`` each one is (retouch.edges.MODULE_ALIASES says which detector paints a module).

ComfyUI's core ``Canny`` (``comfy_extras/nodes_canny.py``) and comfyui_controlnet_aux's line
extractors (``node_wrappers/canny.py``, ``lineart_standard.py``, ``lineart.py``, ``lineart_anime.py``
@ e8b689a) turn a picture into the edge map the apply node feeds its ControlNet. Here the map is made
when the prompt is compiled, in the door, as the A1111 API makes a unit's map in the web tier, and
reaches the unit as its finished map (``module: "none"``):

- ``CannyEdgePreprocessor`` (``low_threshold``/``high_threshold`` 0–255, ``resolution``): ``canny``.
  Like controlnet_aux, the picture is first scaled so its shorter side is ``resolution`` and the map
  has that size.
- ``Canny`` (``low_threshold``/``high_threshold`` 0.01–0.99 of kornia's gradient of a [0, 1] picture,
  after kornia's 5x5 Gaussian blur, sigma 1): ``canny`` on the blurred grey picture, thresholds x 255,
  at the picture's own size. The project's detector measures the gradient with the L1 norm (OpenCV's
  default), kornia with L2: diagonal edges pass a threshold a little sooner here.
- ``LineartStandardPreprocessor`` (``guassian_sigma``, ``intensity_threshold``, ``resolution``): ``lineart_standard``.
- ``LineArtPreprocessor`` (``lineart_realistic``, or ``lineart_coarse`` with ``coarse: enable``) and
  ``AnimeLineArtPreprocessor`` (``lineart_anime``): learned detectors whose weights the venue does
  not hold; the A1111 API paints those modules with the standard lineart, and so does the door.

The aux nodes' other inputs keep their defaults only (``/object_info`` lists no others); a class not
listed here is ComfyUI's unknown node.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from PIL import ImageFilter

from comfy.reading import Reader
from retouch import edges, imaging

KORNIA_SIGMA = 1.0  # kornia.filters.canny's default Gaussian (5x5, sigma 1), which ComfyUI's Canny keeps
UNIT_SCALE = 255  # kornia's thresholds are on a [0, 1] picture's gradient; the project's on 0–255


@dataclass(frozen=True)
class Preprocessor:
    modules: tuple[str, ...]  # the A1111 unit module(s) the node is: the first, or the second when ``coarse`` is enabled
    resolution: bool  # controlnet_aux scales the picture's shorter side to ``resolution`` first


PREPROCESSORS = {
    "Canny": Preprocessor(("canny",), resolution=False),
    "CannyEdgePreprocessor": Preprocessor(("canny",), resolution=True),
    "LineartStandardPreprocessor": Preprocessor(("lineart_standard",), resolution=True),
    "LineArtPreprocessor": Preprocessor(("lineart_realistic", "lineart_coarse"), resolution=True),
    "AnimeLineArtPreprocessor": Preprocessor(("lineart_anime",), resolution=True),
}


def module(reader: Reader, node_id: str) -> str:
    """The A1111 unit module the node is (its detector: ``retouch.edges.MODULE_ALIASES``)."""
    known = PREPROCESSORS[reader.class_of(node_id)]
    coarse = reader.class_of(node_id) == "LineArtPreprocessor" and reader.value(node_id, "coarse") == "enable"
    return known.modules[1 if coarse else 0]


def edge_map(reader: Reader, node_id: str, picture_node: str) -> bytes:
    """The node's edge map (white lines on black, PNG) of LoadImage ``picture_node``'s upload."""
    class_type = reader.class_of(node_id)
    detector = edges.MODULE_ALIASES[module(reader, node_id)]
    try:
        picture = imaging.open_image(reader.picture(picture_node), max_pixels=settings.GARDEN_RETOUCH_MAX_PIXELS).convert("RGB")
    except imaging.InvalidImage as exc:
        raise reader.fail(picture_node, "image", exc.message, "custom_validation_failed") from None
    if PREPROCESSORS[class_type].resolution:
        picture = edges.scaled_for_detection(picture, reader.value(node_id, "resolution"))
    if detector == "canny":
        low, high = reader.value(node_id, "low_threshold"), reader.value(node_id, "high_threshold")
        if class_type == "Canny":  # kornia refuses low above high (ComfyUI's execution error): refused at once here
            if low > high:
                raise reader.fail(node_id, "high_threshold", "high_threshold must not be below low_threshold")
            picture = picture.convert("L").filter(ImageFilter.GaussianBlur(KORNIA_SIGMA))
            low, high = low * UNIT_SCALE, high * UNIT_SCALE
        else:  # OpenCV links edges with the smaller of the two, whichever input holds it
            low, high = sorted((low, high))
        return imaging.encode_png(edges.canny(picture, low=low, high=high))
    if class_type == "LineartStandardPreprocessor":
        sigma, threshold = reader.value(node_id, "guassian_sigma"), reader.value(node_id, "intensity_threshold")
        return imaging.encode_png(edges.lineart_standard(picture, sigma=sigma, threshold=threshold))
    return imaging.encode_png(edges.lineart_standard(picture))
