"""Edge maps without weights (retouch/edges.py), on real pictures."""

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from retouch import edges


def drawing() -> Image.Image:
    """Dark strokes on a light page, the kind of picture lineart is made for."""
    picture = Image.new("RGB", (160, 120), (235, 230, 220))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((20, 20, 80, 90), outline=(30, 30, 30), width=3)
    draw.ellipse((90, 30, 140, 100), outline=(60, 20, 20), width=2)
    return picture


def reference_lineart(picture: Image.Image) -> np.ndarray:
    """controlnet_aux's lineart_standard with a true float Gaussian (as OpenCV computes it)."""
    x = np.asarray(picture, np.float32)
    g = ndimage.gaussian_filter(x, sigma=(6.0, 6.0, 0), truncate=4.0)
    intensity = np.min(g - x, axis=2).clip(0, 255)
    intensity /= max(16, np.median(intensity[intensity > 8]))
    return (intensity * 127).clip(0, 255).astype(np.uint8)


def test_lineart_standard_matches_the_float_reference():
    picture = drawing()
    ours = np.asarray(edges.lineart_standard(picture), np.float32)
    reference = reference_lineart(picture).astype(np.float32)
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).mean() < 2.0
    strokes = reference > 64
    assert (ours[strokes] > 32).mean() > 0.95  # the strokes are found
    assert ours[60, 50] < 8 and ours[5, 5] < 8  # flat paper stays black


def test_canny_finds_the_outline_of_a_square_and_nothing_inside():
    picture = Image.new("L", (64, 64), 0)
    picture.paste(255, (16, 16, 48, 48))
    found = np.asarray(edges.canny(picture)) > 0
    assert found[16:48, 15:18].any(axis=1).mean() > 0.9  # the left side
    assert not found[24:40, 24:40].any() and not found[:8, :8].any()
    assert set(np.unique(np.asarray(edges.canny(picture)))) <= {0, 255}


def test_detect_dispatches_and_refuses_unknown_detectors():
    assert edges.detect("lineart", drawing()).mode == "L"
    assert edges.detect("canny", drawing(), low=50, high=100).size == (160, 120)
    with pytest.raises(ValueError, match="Unknown edge detector"):
        edges.detect("hed", drawing())


def test_detection_resolution_scales_the_shortest_side():
    assert edges.scaled_for_detection(drawing(), 60).size == (80, 60)
    assert edges.scaled_for_detection(drawing(), None).size == (160, 120)
