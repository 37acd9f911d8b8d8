"""Edge maps for ControlNet without weights, in numpy + Pillow (+ scipy): the web tier runs them.

``lineart_standard`` is the A1111 ControlNet extension's default lineart preprocessor (from
controlnet_aux: Gaussian blur minus the image, the minimum over the colour channels, normalised by
the median of the clear strokes); ``canny`` is the classic detector (Sobel, non-maximum
suppression, hysteresis). Both answer white lines on black, the way ControlNet models expect them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

DETECTORS = ("lineart", "canny")
# A1111 module names → our detectors ("lineart" means lineart_standard: learned lineart needs weights).
MODULE_ALIASES = {
    "lineart": "lineart",
    "lineart_standard": "lineart",
    "lineart_standard (from white bg & black line)": "lineart",
    "lineart_realistic": "lineart",
    "lineart_coarse": "lineart",
    "lineart_anime": "lineart",
    "canny": "canny",
}


def lineart_standard(picture: Image.Image, *, sigma: float = 6.0, threshold: float = 8.0) -> Image.Image:
    rgb = picture.convert("RGB")
    image = np.asarray(rgb, np.float32)
    # Pillow blurs 8-bit planes with three box passes: within a grey level of a true Gaussian.
    blurred = np.asarray(rgb.filter(ImageFilter.GaussianBlur(sigma)), np.float32)
    intensity = np.min(blurred - image, axis=2).clip(0, 255)
    strokes = intensity[intensity > threshold]
    intensity /= max(16.0, float(np.median(strokes))) if strokes.size else 16.0
    intensity *= 127
    return Image.fromarray(intensity.clip(0, 255).astype(np.uint8), "L")


def canny(picture: Image.Image, *, low: float = 100.0, high: float = 200.0) -> Image.Image:
    gray = np.asarray(picture.convert("L"), np.float32)
    gx, gy = ndimage.sobel(gray, axis=1), ndimage.sobel(gray, axis=0)
    magnitude = np.abs(gx) + np.abs(gy)  # OpenCV's default L1 norm
    # Directions quantised to 0°, 45°, 90°, 135°; a pixel survives if it is a maximum across its edge.
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    sector = np.digitize(angle, [22.5, 67.5, 112.5, 157.5]) % 4
    padded = np.pad(magnitude, 1)
    height, width = magnitude.shape
    neighbours = {0: ((0, 1), (0, -1)), 1: ((1, 1), (-1, -1)), 2: ((1, 0), (-1, 0)), 3: ((1, -1), (-1, 1))}
    thin = np.zeros_like(magnitude)
    for direction, ((dy1, dx1), (dy2, dx2)) in neighbours.items():
        first = padded[1 + dy1 : 1 + dy1 + height, 1 + dx1 : 1 + dx1 + width]
        second = padded[1 + dy2 : 1 + dy2 + height, 1 + dx2 : 1 + dx2 + width]
        keep = (sector == direction) & (magnitude >= first) & (magnitude >= second)
        thin[keep] = magnitude[keep]
    weak = thin >= low
    labels, count = ndimage.label(weak, structure=np.ones((3, 3), bool))
    strong_labels = np.unique(labels[(thin >= high) & weak])
    edges = np.isin(labels, strong_labels[strong_labels > 0]) if count else weak
    return Image.fromarray(np.where(edges, 255, 0).astype(np.uint8), "L")


def detect(kind: str, picture: Image.Image, *, low: float = 100.0, high: float = 200.0) -> Image.Image:
    if kind == "canny":
        return canny(picture, low=low, high=high)
    if kind == "lineart":
        return lineart_standard(picture)
    raise ValueError(f"Unknown edge detector {kind!r}: expected one of {', '.join(DETECTORS)}.")


def scaled_for_detection(picture: Image.Image, resolution: int | None) -> Image.Image:
    """Scale so the shortest side is ``resolution`` (A1111's processor_res); None keeps the size."""
    if not resolution:
        return picture
    scale = resolution / min(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture if size == picture.size else picture.resize(size, Image.Resampling.LANCZOS)
