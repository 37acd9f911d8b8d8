"""Retouching stays exact outside the mask with every provenance default on (issue 49): the
watermark on, XMP, and C2PA signing with the test chain. Real worker path (API submit, then
``execute_job`` on the tiny model), pictures of 640x512, a rectangle and a freehand mask.

"Outside" is A1111's own: where its blurred mask (modules/processing.py: OpenCV's Gaussian of
σ=mask_blur, 2·int(2.5σ + 0.5) + 1 taps, along x then y) is 0, the pixels it pastes back.
"""

import io
import json

import cv2
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image, ImageDraw

from generation.backends import procedural
from provenance import report, watermark, xmp
from provenance.certs import make_test_chain
from tests.retouch.retouch_support import encoded, stored_pixels, upload, zip_of
from tests.retouch.test_retouch_jobs import run, submit

pytestmark = pytest.mark.django_db

SIZE = (640, 512)
BLUR = 4


@pytest.fixture
def provenance_on(settings, tmp_path):
    """Every provenance default on, and a signing certificate (the test chain) configured."""
    chain, key = make_test_chain()
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    settings.GARDEN_C2PA_CERT, settings.GARDEN_C2PA_KEY = str(tmp_path / "chain.pem"), str(tmp_path / "key.pem")
    settings.GARDEN_PROVENANCE_WATERMARK = True
    assert watermark.available()


def source_picture(seed: int = 3) -> Image.Image:
    return procedural.paint(emotion="happy", favorite="tulip", seed=seed, width=SIZE[0], height=SIZE[1])


def mask_of(shape: str) -> Image.Image:
    mask = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(mask)
    if shape == "rectangle":
        draw.rectangle((160, 120, 459, 399), fill=255)
    elif shape == "freehand":  # a closed brush outline, as the retouch page's pen draws one
        draw.polygon([(140, 110), (300, 70), (470, 150), (450, 360), (280, 430), (170, 330)], fill=255)
        draw.line([(470, 150), (560, 90)], fill=255, width=28)
    else:  # "small": a box under 256x256 pixels in area
        draw.rectangle((200, 150, 379, 329), fill=255)
    return mask


def a1111_blurred(mask: Image.Image, blur: float) -> np.ndarray:
    """A1111's blurred mask (uint8), computed as modules/processing.py does it."""
    values = np.asarray(mask.convert("L")).copy()
    taps = 2 * int(2.5 * blur + 0.5) + 1
    values = cv2.GaussianBlur(values, (taps, 1), blur)
    return cv2.GaussianBlur(values, (1, taps), blur)


def stored(job):
    image = job.images.get()
    with default_storage.open(image.key, "rb") as handle:
        return image, handle.read()


def assert_exact_outside(result: np.ndarray, source: Image.Image, mask: Image.Image, blur: float = BLUR) -> None:
    original = np.asarray(source.convert("RGB"))
    outside = a1111_blurred(mask, blur) == 0
    assert result.shape == original.shape and outside.sum() > SIZE[0] * SIZE[1] // 2
    changed = (result != original).any(axis=-1)
    assert not changed[outside].any(), f"{changed[outside].sum()} pixels differ outside the mask and its blur"
    assert changed[~outside].sum() > 1000  # and it did repaint


@pytest.mark.parametrize(("shape", "opacity"), [("rectangle", 1.0), ("freehand", 1.0), ("rectangle", 0.6)])
def test_a_retouch_keeps_every_pixel_outside_the_mask_and_carries_the_mark_in_its_region(
    staff_client, retouch_settings, no_enqueue, provenance_on, shape, opacity
):
    source, mask = source_picture(), mask_of(shape)
    job = run(submit(staff_client, image=encoded(source), mask=encoded(mask), prompt="a red flower", mask_blur=BLUR, opacity=opacity))
    image, content = stored(job)
    assert_exact_outside(stored_pixels(image.key), source, mask)

    found = report.describe(content)
    region = image.parameters[watermark.REGION_PARAMETER]
    assert found["parameters"][watermark.REGION_PARAMETER] == region
    assert found["watermark"] == {"checked": True, "found": True, "matching_bits": 48, "of": 48, "region": region}
    x, y, w, h = region
    assert w * h >= watermark.MIN_AREA and x % 16 == 0 and y % 16 == 0
    assert (a1111_blurred(mask, BLUR)[y : y + h, x : x + w] > 0).mean() > 0.6  # the box of what was repainted
    assert found["xmp"]["digital_source_type"] == xmp.COMPOSITE
    assert found["c2pa"]["validation_state"] == "Valid"
    assert [action["action"] for action in found["c2pa"]["actions"]] == ["c2pa.opened", "c2pa.edited"]

    # The mark is the edit's own: the source, read over the same box, does not carry it.
    assert not watermark.detect(source.crop((x, y, x + w, y + h)))


def test_a_region_too_small_for_the_mark_is_exact_and_says_it_is_ai_edited_by_xmp_and_c2pa(
    staff_client, retouch_settings, no_enqueue, provenance_on, tmp_path
):
    source, mask = source_picture(seed=5), mask_of("small")
    job = run(submit(staff_client, image=encoded(source), mask=encoded(mask), prompt="a red flower", mask_blur=BLUR))
    image, content = stored(job)
    assert_exact_outside(stored_pixels(image.key), source, mask)
    assert image.parameters[watermark.REGION_PARAMETER] is None
    found = report.describe(content)
    assert found["watermark"]["checked"] is False and "too small" in found["watermark"]["reason"]
    assert found["xmp"]["digital_source_type"] == xmp.COMPOSITE
    assert found["c2pa"]["validation_state"] == "Valid"
    assert {action["digital_source_type"] for action in found["c2pa"]["actions"]} >= {xmp.COMPOSITE}

    path = tmp_path / "edit.png"
    path.write_bytes(content)
    out = io.StringIO()
    call_command("provenance", str(path), stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("Watermark: not checked (an edit whose repainted region was too small")


def test_the_command_reads_an_edits_mark_over_its_region(staff_client, retouch_settings, no_enqueue, provenance_on, tmp_path):
    source, mask = source_picture(), mask_of("rectangle")
    job = run(submit(staff_client, image=encoded(source), mask=encoded(mask), prompt="a red flower", mask_blur=BLUR))
    image, content = stored(job)
    x, y, w, h = image.parameters[watermark.REGION_PARAMETER]
    path = tmp_path / "edit.png"
    path.write_bytes(content)
    out = io.StringIO()
    call_command("provenance", str(path), stdout=out)
    assert out.getvalue().splitlines()[-1] == f"Watermark: found (48/48 bits) over the repainted region {w}x{h} at {x},{y}"
    out = io.StringIO()
    call_command("provenance", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["watermark"]["region"] == [x, y, w, h]


def test_batch_frames_keep_every_pixel_outside_the_mask(staff_client, retouch_settings, no_enqueue, provenance_on):
    frames = {f"shot_{n}.png": source_picture(seed=n) for n in (1, 2)}
    mask = mask_of("freehand")
    body = {
        "kind": "retouch_batch",
        "work_size": 64,
        "seed": 3,
        "padding": 8,
        "mask_blur": BLUR,
        "prompt": "a red flower",
        "frames": zip_of({name: encoded(picture) for name, picture in frames.items()}),
        "mask": encoded(mask),
    }
    for name in ("frames", "mask"):
        body[name] = upload(body[name], f"{name}.bin")
    response = staff_client.post("/api/v1/jobs", body, format="multipart")
    assert response.status_code == 202, response.content
    job = run(response.json())
    results = {image.parameters["frame"]: image for image in job.images.all()}
    assert sorted(results) == sorted(frames)
    for name, image in results.items():
        assert_exact_outside(stored_pixels(image.key), frames[name], mask)
        with default_storage.open(image.key, "rb") as handle:
            found = report.describe(handle.read())
        assert found["watermark"]["found"] and found["watermark"]["region"] == image.parameters[watermark.REGION_PARAMETER]
        assert found["c2pa"]["validation_state"] == "Valid"


@pytest.mark.parametrize("shape", ["rectangle", "freehand"])
def test_the_mark_of_an_edit_reads_back_after_the_jpeg_promotion_makes(shape):
    """On painted content (the tiny model's random colours clip the mark; a real model's do not)."""
    from garden.services import as_jpeg
    from retouch import imaging

    source, mask = source_picture(), mask_of(shape)
    hard = np.asarray(mask) >= 128
    rect = imaging.padded(imaging.bounding_box(hard), 32 + imaging.feather_reach(BLUR), SIZE)
    prepared = imaging.prepare(source, hard, rect, work=(rect[2], rect[3]), blur=BLUR, fill="original", seed=0)
    painted = procedural.paint(emotion="sad", seed=9, width=rect[2], height=rect[3])
    box = imaging.mark_box(prepared, 1.0)
    result = imaging.finish(source, painted, prepared, opacity=1.0, color_match=True, ring_width=12, mark=box)
    assert_exact_outside(np.asarray(result), source, mask)
    x, y, w, h = box
    served = Image.open(io.BytesIO(as_jpeg(encoded(result)))).convert("RGB")
    assert watermark.matching_bits(result.crop((x, y, x + w, y + h))) == 48
    assert watermark.matching_bits(served.crop((x, y, x + w, y + h))) >= 47


def test_generated_pictures_keep_the_whole_picture_mark(settings):
    from generation.imagefile import encode_jpeg, read_parameters

    settings.GARDEN_PROVENANCE_WATERMARK = True
    content = encode_jpeg(source_picture(), {"generator": "procedural", "seed": 3})
    assert watermark.REGION_PARAMETER not in read_parameters(content)
    found = report.describe(content)["watermark"]
    assert found == {"checked": True, "found": True, "matching_bits": 48, "of": 48}
