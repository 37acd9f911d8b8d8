"""What a picture looks like (garden.looks): measured from its pixels when it is stored, kept in
garden.models.ImageLook, back-filled by ``manage.py measure_pictures``, read by looks_of."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image as PILImage

from garden import keys, look_services, looks, services
from garden.models import Image, ImageLook
from garden.selectors import looks_of
from tests.factories import ImageFactory, jpeg_bytes

FIELD = {name: index for index, name in enumerate(looks.LOOK_FIELDS)}


def picture(pixels: np.ndarray, kind: str = "PNG") -> bytes:
    """Bytes of an (h, w, 3) uint8 picture; PNG by default so that the pixels are exact."""
    buffer = io.BytesIO()
    PILImage.fromarray(pixels.astype(np.uint8)).save(buffer, kind)
    return buffer.getvalue()


def flat(color, size=(48, 80)) -> np.ndarray:
    return np.broadcast_to(np.array(color, dtype=np.uint8), (*size, 3)).copy()


def look(content: bytes, name: str) -> float:
    return float(looks.measure(content)[FIELD[name]])


# --- measure() on synthetic pictures ----------------------------------------------------------------


def test_a_look_is_one_finite_float_per_field():
    values = looks.measure(jpeg_bytes(640, 400))
    assert values.dtype == np.float64 and values.shape == (len(looks.LOOK_FIELDS),)
    assert np.isfinite(values).all()
    assert [field.name for field in ImageLook._meta.fields if field.name in FIELD] == list(looks.LOOK_FIELDS)


def test_lightness_follows_the_pixels():
    dark, mid, bright = (look(picture(flat((v, v, v))), "lightness") for v in (20, 128, 235))
    assert dark < mid < bright
    assert bright == pytest.approx(235 / 255, abs=1e-6)


def test_warmth_says_orange_against_blue():
    assert look(picture(flat((230, 140, 40))), "warmth") > 0.5
    assert look(picture(flat((40, 90, 220))), "warmth") < -0.5
    assert look(picture(flat((128, 128, 128))), "warmth") == pytest.approx(0)


def test_grey_has_no_saturation_and_no_colourfulness():
    grey = picture(flat((120, 120, 120)))
    red = picture(flat((220, 30, 30)))
    assert look(grey, "saturation") == pytest.approx(0) and look(grey, "colourfulness") == pytest.approx(0)
    assert look(red, "saturation") > 0.8 and look(red, "colourfulness") > 0.5
    assert look(picture(flat((40, 180, 50))), "greenness") > 0.5 > look(red, "greenness")


def test_a_lit_sky_over_dark_ground_has_sky_light():
    sky = flat((200, 210, 240))
    sky[24:] = (30, 50, 20)
    assert look(picture(sky), "sky_light") > 0.5
    assert look(picture(sky[::-1]), "sky_light") < -0.5
    assert look(picture(flat((90, 90, 90))), "sky_light") == pytest.approx(0)


def test_noise_has_detail_and_contrast_a_flat_picture_none():
    # Noise in 4x4 blocks: still noise at the 64 px it is measured at (pixel noise averages out there).
    noisy = np.random.default_rng(0).integers(0, 256, size=(50, 75, 3)).repeat(4, axis=0).repeat(4, axis=1)
    flat_one = picture(flat((128, 128, 128), size=(200, 300)))
    assert look(picture(noisy), "detail") > 0.05 > look(flat_one, "detail") == pytest.approx(0)
    assert look(picture(noisy), "contrast") > 0.05 > look(flat_one, "contrast")


def test_a_big_jpeg_is_measured_at_64_pixels_like_its_png():
    gradient = np.linspace(0, 255, 1280)[None, :, None] * np.ones((800, 1, 3))
    gradient[..., 2] = 255 - gradient[..., 2]
    as_jpeg, as_png = looks.measure(picture(gradient, "JPEG")), looks.measure(picture(gradient))
    assert np.allclose(as_jpeg, as_png, atol=0.02)


def test_a_sideways_photo_is_measured_upright():
    stored = flat((20, 20, 20), size=(40, 60))
    stored[:, :30] = 240  # the left half bright: the top once the camera's orientation (6: turn right) applies
    exif = PILImage.Image().getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    PILImage.fromarray(stored).save(buffer, "JPEG", exif=exif.tobytes())
    assert looks.measure(buffer.getvalue())[FIELD["sky_light"]] > 0.5


@pytest.mark.parametrize("junk", [b"", b"not a picture", jpeg_bytes()[:40]])
def test_junk_bytes_are_unreadable(junk):
    with pytest.raises(looks.Unreadable):
        looks.measure(junk)


def test_a_one_pixel_picture_is_measured():
    values = looks.measure(picture(flat((10, 200, 10), size=(1, 1))))
    assert np.isfinite(values).all() and values[FIELD["detail"]] == 0 and values[FIELD["sky_light"]] == 0


# --- stored with the image --------------------------------------------------------------------------


def pool_key(index: int) -> str:
    return keys.build_key(
        prefix=keys.POOL_PREFIX,
        emotion="calm",
        favorite="",
        timestr=keys.new_timestr(timezone.now()),
        index=index,
        orientation=keys.LANDSCAPE,
    )


@pytest.mark.django_db
def test_create_image_stores_the_pictures_look():
    content = jpeg_bytes(64, 40, color=(230, 140, 40))
    image = services.create_image(key=pool_key(1), content=content, width=64, height=40)
    stored = ImageLook.objects.get(image=image)
    assert stored.version == looks.VERSION
    assert np.allclose(stored.values(), looks.measure(content))
    assert stored.warmth > 0.5


@pytest.mark.django_db
def test_an_unreadable_picture_is_stored_without_a_look_and_a_warning_without_its_bytes(caplog):
    with caplog.at_level(logging.WARNING, logger="garden.services"):
        image = services.create_image(key=pool_key(2), content=b"secret-bytes-not-a-picture", width=1, height=1)
    assert Image.objects.filter(pk=image.pk).exists() and not ImageLook.objects.filter(image=image).exists()
    assert image.key in caplog.text and "secret-bytes" not in caplog.text


@pytest.mark.django_db
def test_a_rewrite_measures_the_new_bytes_and_drops_a_look_it_cannot_measure():
    image = ImageFactory(status=Image.Status.POOL)
    services.rewrite_image(image=image, content=jpeg_bytes(16, 10, color=(20, 60, 230)))
    assert ImageLook.objects.get(image=image).warmth < -0.5
    services.rewrite_image(image=image, content=b"junk")
    assert not ImageLook.objects.filter(image=image).exists()


@pytest.mark.django_db
def test_measure_look_replaces_the_look_and_deleting_the_image_deletes_it():
    image = ImageFactory()
    services.measure_look(image=image, content=jpeg_bytes(color=(250, 250, 250)))
    assert ImageLook.objects.get(image=image).lightness > 0.9
    with pytest.raises(looks.Unreadable):
        services.measure_look(image=image, content=b"junk")
    Image.objects.filter(pk=image.pk).delete()
    assert not ImageLook.objects.exists()


# --- back-filled by manage.py measure_pictures ------------------------------------------------------


@pytest.mark.django_db
def test_the_command_measures_old_pictures_once_and_counts_missing_files(media_dir):
    images = [ImageFactory(index=n) for n in range(5)]
    ImageLook.objects.all().delete()  # stored before pictures were measured
    ImageLook.objects.create(image=images[0], **dict.fromkeys(looks.LOOK_FIELDS, 0.0), version=looks.VERSION - 1)  # an older formula
    (media_dir / images[1].key).unlink()
    out = io.StringIO()
    call_command("measure_pictures", "--batch", "2", stdout=out)
    assert "Measured 4 pictures (1 missing files) in" in out.getvalue()
    assert "5/5 pictures" in out.getvalue()
    assert set(ImageLook.objects.values_list("image_id", flat=True)) == {image.pk for image in images} - {images[1].pk}
    assert ImageLook.objects.get(image=images[0]).version == looks.VERSION

    again = io.StringIO()
    call_command("measure_pictures", stdout=again)  # nothing new: only the missing file is tried again
    assert "Measured 0 pictures (1 missing files) in" in again.getvalue()
    call_command("measure_pictures", "--all", stdout=(everything := io.StringIO()))
    assert "Measured 4 pictures (1 missing files) in" in everything.getvalue()


@pytest.mark.django_db
def test_a_backfill_counts_unreadable_files_and_follows_a_picture_promoted_meanwhile(media_dir):
    moved, junk = ImageFactory(status=Image.Status.POOL), ImageFactory(status=Image.Status.POOL)
    ImageLook.objects.all().delete()
    (media_dir / junk.key).write_bytes(b"junk")
    seen: list[look_services.BackfillCounts] = []
    assert look_services.backfill_looks(progress=seen.append) == 1
    assert (seen[-1].total, seen[-1].measured, seen[-1].unreadable, seen[-1].missing) == (2, 1, 1, 0)
    listed_key = moved.key
    services.promote_image(image=moved)  # listed by a batch under its pool key, then moved to emotions/…
    assert look_services._read_current(moved.pk, listed_key) == services.read_file(Image.objects.get(pk=moved.pk).key)
    assert look_services._read_current(junk.pk, "imgPool/calm/no-such-file.jpg") == b"junk"
    Image.objects.filter(pk=junk.pk).delete()
    (media_dir / junk.key).unlink()
    assert look_services._read_current(junk.pk, junk.key) is None


# --- read in bulk -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_looks_of_is_aligned_with_the_ids_and_nan_for_images_without_a_look(django_assert_num_queries):
    warm = ImageFactory()
    services.measure_look(image=warm, content=jpeg_bytes(color=(230, 140, 40)))
    cold = ImageFactory()
    services.measure_look(image=cold, content=jpeg_bytes(color=(40, 90, 220)))
    unmeasured = ImageFactory()
    ImageLook.objects.filter(image=unmeasured).delete()
    ids = [cold.pk, unmeasured.pk, 10**9, warm.pk, cold.pk]
    with django_assert_num_queries(1):
        found = looks_of(ids)
    assert found.shape == (5, len(looks.LOOK_FIELDS)) and found.dtype == np.float64
    assert np.isnan(found[1]).all() and np.isnan(found[2]).all()
    assert found[0, FIELD["warmth"]] < 0 < found[3, FIELD["warmth"]]
    assert np.array_equal(found[0], found[4])
    assert np.array_equal(found[3], ImageLook.objects.get(image=warm).values())
    assert looks_of([]).shape == (0, len(looks.LOOK_FIELDS))
