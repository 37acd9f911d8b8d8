"""The retouch image maths (retouch/imaging.py): pure functions on real pixels."""

import io

import numpy as np
import pytest
from PIL import Image

from retouch import imaging

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free


def encoded(picture: Image.Image, kind: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, kind, **options)
    return buffer.getvalue()


def noise_picture(width=96, height=64, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


# --- decoding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_open_image_accepts_png_jpeg_webp_by_their_bytes(kind):
    picture = imaging.open_image(encoded(noise_picture(), kind), max_pixels=10_000)
    assert picture.size == (96, 64)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF89a" + b"\0" * 40, "not a PNG, JPEG or WebP"),
        (b"", "not a PNG, JPEG or WebP"),
        (encoded(noise_picture(), "PNG")[:200], "truncated or corrupt"),
        (encoded(noise_picture(), "JPEG")[:300], "truncated or corrupt"),
    ],
)
def test_open_image_refuses_other_formats_and_truncated_files(content, message):
    with pytest.raises(imaging.InvalidImage, match=message) as caught:
        imaging.open_image(content, max_pixels=10_000)
    assert not caught.value.too_large


def test_open_image_refuses_a_decompression_bomb_before_decoding_it():
    bomb = encoded(Image.new("L", (8000, 8000)), "PNG")  # ~60 KB that would unpack to 64 MB
    assert len(bomb) < 200_000
    with pytest.raises(imaging.InvalidImage, match="8000x8000") as caught:
        imaging.open_image(bomb, max_pixels=4096 * 4096)
    assert caught.value.too_large


def test_open_image_applies_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    picture = imaging.open_image(encoded(noise_picture(96, 64), "JPEG", exif=exif.tobytes()), max_pixels=10_000)
    assert picture.size == (64, 96)


def test_as_rgb_keeps_transparency_apart():
    rgba = Image.new("RGBA", (4, 4), (10, 20, 30, 77))
    rgb, alpha = imaging.as_rgb(rgba)
    assert rgb.mode == "RGB" and alpha is not None and alpha.getpixel((0, 0)) == 77
    assert imaging.as_rgb(Image.new("RGB", (4, 4)))[1] is None


# --- masks, rectangles, working sizes --------------------------------------------------------------


def test_mask_reads_alpha_strokes_or_white_on_black_and_inverts():
    strokes = Image.new("RGBA", (10, 8), (0, 0, 0, 0))
    strokes.paste((255, 0, 0, 255), (2, 2, 5, 4))  # a red stroke on a transparent layer
    assert imaging.bounding_box(imaging.mask_array(strokes, (10, 8))) == (2, 2, 3, 2)
    white = Image.new("L", (10, 8), 0)
    white.paste(255, (6, 1, 9, 7))
    mask = imaging.mask_array(white, (10, 8))
    assert imaging.bounding_box(mask) == (6, 1, 3, 6)
    assert imaging.mask_array(white, (10, 8), invert=True).sum() == 80 - mask.sum()
    opaque = Image.new("RGBA", (10, 8), (0, 0, 0, 255))  # an opaque RGBA mask is read by brightness
    assert imaging.bounding_box(imaging.mask_array(opaque, (10, 8))) is None


def test_a_mask_of_another_size_is_scaled_when_the_shape_matches_and_refused_otherwise():
    half = Image.new("L", (48, 32), 0)
    half.paste(255, (10, 10, 20, 20))
    assert imaging.bounding_box(imaging.mask_array(half, (96, 64))) == (20, 20, 20, 20)
    with pytest.raises(imaging.InvalidImage, match="48x48 but the image is 96x64"):
        imaging.mask_array(Image.new("L", (48, 48)), (96, 64))


def test_padded_box_stays_inside_the_image_and_is_at_least_8_pixels():
    assert imaging.padded((40, 20, 20, 20), 32, (96, 64)) == (8, 0, 84, 64)
    assert imaging.padded((0, 0, 1, 1), 0, (96, 64)) == (0, 0, 8, 8)
    assert imaging.padded((95, 63, 1, 1), 0, (96, 64)) == (88, 56, 8, 8)
    assert imaging.union_box([(0, 0, 4, 4), (10, 2, 4, 10)]) == (0, 0, 14, 12)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((84, 64), (672, 512)), ((64, 84), (512, 672)), ((512, 512), (512, 512)), ((1000, 10), (1536, 16)), ((30, 31), (512, 528))],
)
def test_working_size_scales_the_shortest_side_in_multiples_of_8(size, expected):
    width, height = imaging.working_size(*size, shortest=512, longest_limit=1536)
    assert (width, height) == expected and width % 8 == 0 and height % 8 == 0


# --- feathering, fills, colour, composite -----------------------------------------------------------


def test_feather_softens_the_edge_and_never_reaches_far_pixels():
    mask = np.zeros((80, 80), bool)
    mask[20:60, 20:60] = True
    alpha = imaging.feather(mask, 4)
    assert alpha[40, 40] == 255 and 0 < alpha[40, 20] < 255 and alpha[0, 0] == 0 and alpha[40, 79] == 0
    assert (imaging.feather(mask, 0) == np.where(mask, 255, 0)).all()


@pytest.mark.parametrize("how", ["fill", "nothing", "noise"])
def test_masked_content_fills_only_the_mask(how):
    picture = noise_picture(32, 32)
    mask = np.zeros((32, 32), bool)
    mask[8:24, 8:24] = True
    filled = np.asarray(imaging.fill_masked(picture, mask, how, seed=3))
    original = np.asarray(picture)
    assert (filled[~mask] == original[~mask]).all()
    assert not (filled[mask] == original[mask]).all()
    if how == "nothing":
        assert (filled[mask] == 127).all()
    assert imaging.fill_masked(picture, mask, "original") is picture


def test_lab_round_trip_is_within_one_level():
    colours = np.random.default_rng(1).integers(0, 256, (50, 50, 3), dtype=np.uint8)
    back = imaging.lab_to_rgb(imaging.rgb_to_lab(colours))
    assert np.abs(back.astype(int) - colours).max() <= 1
    assert np.allclose(imaging.rgb_to_lab(np.array([[255, 255, 255]], np.uint8)), [[100, 0, 0]], atol=0.01)


def test_colour_match_removes_a_shift_measured_in_the_ring():
    source = np.asarray(noise_picture(40, 40, seed=2))
    shifted = np.clip(source.astype(int) + np.array([30, -20, 10]), 0, 255).astype(np.uint8)  # what a VAE round trip might do
    mask = np.zeros((40, 40), bool)
    mask[12:28, 12:28] = True
    ring = imaging.ring(mask, 6)
    assert ring.any() and not (ring & mask).any()
    matched = imaging.match_colors(shifted, source, ring)
    before, after = np.abs(shifted.astype(int) - source).mean(), np.abs(matched.astype(int) - source).mean()
    assert after < before / 2
    assert imaging.match_colors(shifted, source, np.zeros_like(mask)) is shifted  # no ring: unchanged


def test_composite_is_exact_where_alpha_is_zero_and_full():
    source = np.asarray(noise_picture(16, 16, seed=4))
    painted = np.asarray(noise_picture(16, 16, seed=5))
    alpha = np.zeros((16, 16), np.uint8)
    alpha[4:12, 4:12] = 255
    alpha[4:12, 12] = 128
    out = imaging.composite(source, painted, alpha, 1.0)
    assert (out[alpha == 0] == source[alpha == 0]).all()
    assert (out[alpha == 255] == painted[alpha == 255]).all()
    assert (imaging.composite(source, painted, alpha, 0.0) == source).all()


def test_prepare_and_finish_leave_every_pixel_outside_the_feathered_mask_untouched():
    source = noise_picture(96, 64, seed=6)
    mask = np.zeros((64, 96), bool)
    mask[20:40, 40:60] = True
    rect = imaging.padded(imaging.bounding_box(mask), 16, source.size)
    prepared = imaging.prepare(source, mask, rect, work=(128, 96), blur=4, fill="original", seed=0)
    assert prepared.init.size == prepared.model_mask.size == (128, 96)
    painted = Image.new("RGB", (128, 96), (255, 0, 255))
    result = np.asarray(imaging.finish(source, painted, prepared, opacity=1.0, color_match=True, ring_width=12))
    original = np.asarray(source)
    x, y, w, h = rect
    touched = np.zeros((64, 96), bool)
    touched[y : y + h, x : x + w] = prepared.alpha > 0
    assert (result[~touched] == original[~touched]).all()
    assert (result[30, 50] != original[30, 50]).any()


def test_the_feather_stays_within_its_reach_and_cut_edges_fade_instead_of_ending_in_a_line():
    for blur in (1, 4, 13, 50):
        mask = np.zeros((400, 400), bool)
        mask[150:250, 150:250] = True
        reach = imaging.feather_reach(blur)
        assert not (imaging.feather(mask, blur) > 0)[:, : 150 - reach].any()
    alpha = np.full((20, 30), 255, np.uint8)
    faded = imaging.fade_at_cut_edges(alpha, (10, 0, 30, 20), (50, 20), 5)  # cut on the left and right, not top/bottom
    assert faded[10, 0] == round(255 / 6) and faded[10, 4] == round(255 * 5 / 6) and faded[10, 5] == 255
    assert faded[10, -1] == round(255 / 6) and faded[0, 15] == 255 and faded[-1, 15] == 255
    assert (imaging.fade_at_cut_edges(alpha, (0, 0, 30, 20), (30, 20), 5) == alpha).all()  # the whole picture: no cut
