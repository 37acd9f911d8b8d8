"""What a picture looks like, measured from its pixels: a few colour and light statistics.

Pure numpy and Pillow (no Django), so the recommender, benches and tests can call it anywhere.
``measure`` decodes the picture at no more than 64x64 pixels (a JPEG is decoded at 1/8 scale
straight away by Pillow's draft mode), so the picture's size hardly matters to its cost
(docs/benchmarks.md#figures-behind-the-code); the statistics below hardly change with the size because
they are means over the picture. Stored once per image (garden.models.ImageLook, docs/curation.md).

Every value is a plain float, in [0, 1] or [-1, 1]; colours are the file's gamma-encoded sRGB
values scaled to 0…1 (no linearisation: these describe the picture as it is seen, cheaply).
Bump VERSION whenever a formula or the working size changes: ``manage.py measure_pictures``
re-measures every look of an older version.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

LOOK_FIELDS: tuple[str, ...] = ("lightness", "contrast", "saturation", "warmth", "colourfulness", "sky_light", "detail", "greenness")
VERSION = 1
SIZE = (64, 64)  # the largest picture the statistics are computed on

# Rec. 709 luma weights (the sRGB primaries'), applied to gamma-encoded values as luma is defined.
_LUMA = np.array([0.2126, 0.7152, 0.0722])


_SHRINK_AS_IS = {"RGB", "RGBA", "L", "LA"}  # modes BOX resizes by averaging
_ORIENTATION = 0x0112  # the EXIF tag
_TRANSPOSE = {
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_270,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_90,
}


class Unreadable(ValueError):
    """The bytes are not a picture Pillow can decode (junk, truncated, an unknown format)."""


def measure(content: bytes) -> np.ndarray:
    """The picture's look: a float64 array of len(LOOK_FIELDS) values, in LOOK_FIELDS' order."""
    return describe(_pixels(content))


def _pixels(content: bytes) -> np.ndarray:
    """The picture at most SIZE, as an (h, w, 3) float64 array of 0…1 RGB values."""
    try:
        with PILImage.open(io.BytesIO(content)) as opened:
            picture: PILImage.Image = opened
            # JPEG: decode at 1/2…1/8 scale, the smallest that is still at least SIZE (no full decode).
            picture.draft("RGB", SIZE)
            orientation = picture.getexif().get(_ORIENTATION, 1)
            if picture.mode not in _SHRINK_AS_IS:  # palettes, 16-bit, CMYK: to RGB first, so BOX averages colours
                picture = picture.convert("RGB")
            # Shrunk in place before any copy (a PNG has no draft mode: its full size is decoded).
            # BOX averages whole source pixels: the cheapest filter that keeps every pixel's weight.
            picture.thumbnail(SIZE, PILImage.Resampling.BOX)
            small = picture.convert("RGB")
        # A camera's photo may be stored sideways with an EXIF orientation: measure it upright (sky_light).
        if orientation in _TRANSPOSE:
            small = small.transpose(_TRANSPOSE[orientation])
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, DecompressionBombError…
        raise Unreadable(f"not a readable picture: {type(exc).__name__}") from exc
    return np.asarray(small, dtype=np.float64) / 255.0


def describe(rgb: np.ndarray) -> np.ndarray:
    """LOOK_FIELDS of an (h, w, 3) array of 0…1 RGB values (measure's pixels; tests build their own).

    Written for a 64x64 picture, where numpy's per-call cost is most of the time: one plane per
    channel, element-wise maximum and minimum (a reduction over an axis of 3 is far slower), and
    standard deviations from means of squares.
    """
    red, green, blue = np.ascontiguousarray(np.moveaxis(rgb, -1, 0))
    luma = _LUMA[0] * red + _LUMA[1] * green + _LUMA[2] * blue
    lightness = luma.mean()
    brightest = np.maximum(np.maximum(red, green), blue)
    spread = brightest - np.minimum(np.minimum(red, green), blue)
    # HSV saturation: (max - min) / max; black has no spread, so 0 / tiny = 0 for it.
    saturation = (spread / np.maximum(brightest, 1e-12)).mean()
    # Hasler & Süsstrunk (2003), "Measuring colourfulness in natural images", on 0…255 values and
    # divided by 100 so that their scale reads directly: 0.15 slightly, 0.33 moderately, 0.45
    # averagely, 0.59 quite, 0.82 highly, 1.09 extremely colourful (it may pass 1, never 2).
    rg = red - green
    yb = (red + green) / 2 - blue
    rg_mean, yb_mean = rg.mean(), yb.mean()
    spread_squared = _variance(rg, rg_mean) + _variance(yb, yb_mean)
    colourfulness = (np.sqrt(spread_squared) + 0.3 * np.hypot(rg_mean, yb_mean)) * 255.0 / 100.0
    half = luma.shape[0] // 2  # the middle row of an odd height belongs to neither half
    sky_light = luma[:half].mean() - luma[-half:].mean() if half else 0.0
    # Mean absolute difference of neighbouring pixels' luma, across and down, on the ≤64 px picture.
    across = np.abs(luma[:, 1:] - luma[:, :-1]).mean() if luma.shape[1] > 1 else 0.0
    down = np.abs(luma[1:] - luma[:-1]).mean() if luma.shape[0] > 1 else 0.0
    values = np.array(
        [
            lightness,
            np.sqrt(_variance(luma, lightness)),  # contrast
            saturation,
            red.mean() - blue.mean(),  # warmth: orange-red against blue
            colourfulness,
            sky_light,  # a lit sky above a darker ground > 0
            (across + down) / 2,  # detail
            green.mean() - (red.mean() + blue.mean()) / 2,  # greenness: foliage, grass
        ],
        dtype=np.float64,
    )
    # SQLite stores NaN as NULL: a look is always finite (an empty picture cannot reach here anyway).
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def _variance(values: np.ndarray, mean: float) -> float:
    return max(float(np.vdot(values, values)) / values.size - mean * mean, 0.0)
