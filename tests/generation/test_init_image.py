"""Image-to-image text jobs (generation.init_image): a bulk or images job that starts from a garden
image is checked, painted by the model's image-to-image pipeline (the tiny one's, made with
from_pipe), and starts each orientation from its own picture."""

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image as PILImage

from garden import keys
from garden.models import Image
from garden.services import create_image
from generation import services
from generation.init_pictures import init_picture
from generation.models import GenerationJob
from generation.requests import JobParameterError, JobRequest
from generation.worker import runner

pytestmark = pytest.mark.django_db


def jpeg(width: int, height: int, colour) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def pair(width: int = 96, height: int = 64, *, twin: bool = True) -> tuple[Image, Image | None]:
    """A bulk pair's landscape (red) and, with ``twin``, its portrait (blue), serving."""
    timestr = keys.new_timestr(timezone.now())
    made = []
    for orientation, size, colour in ((keys.LANDSCAPE, (width, height), (200, 30, 30)), (keys.PORTRAIT, (height, width), (30, 30, 200))):
        if orientation == keys.PORTRAIT and not twin:
            break
        key = keys.build_key(prefix=keys.SERVING_PREFIX, emotion="calm", favorite="", timestr=timestr, index=0, orientation=orientation)
        made.append(create_image(key=key, content=jpeg(*size, colour), width=size[0], height=size[1], status=Image.Status.SERVING))
    return made[0], (made[1] if twin else None)


def pixels_of(image: Image) -> np.ndarray:
    with default_storage.open(image.key) as handle:
        return np.asarray(PILImage.open(io.BytesIO(handle.read())).convert("RGB"), np.int16)


def field_errors(request: JobRequest) -> dict:
    with pytest.raises(JobParameterError) as caught:
        request.validate()
    return caught.value.fields


# --- checks ----------------------------------------------------------------------------------------


def test_a_valid_request_stores_the_image_and_the_default_strength(diffusers_settings):
    image, _ = pair()
    valid = JobRequest(kind="bulk", emotion="calm", width=96, height=64, steps=4, init_image=image.pk).validate()
    assert (valid.options["init_image"], valid.options["denoising_strength"]) == (image.pk, 0.75)
    assert JobRequest(emotion="calm", init_image=image.pk, denoising_strength=0.3, steps=4).validate().options["denoising_strength"] == 0.3
    assert "init_image" not in JobRequest(emotion="calm").validate().options


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"backend": "procedural"}, "init_image", "diffusers"),
        ({"init_image": 10**9}, "init_image", "No garden image"),
        ({"init_image": True}, "init_image", "id of a garden image"),
        ({"denoising_strength": 0}, "denoising_strength", "above 0"),
        ({"denoising_strength": 1.5}, "denoising_strength", "at most 1"),
        ({"denoising_strength": "lots"}, "denoising_strength", "a number"),
        ({"steps": 2, "denoising_strength": 0.3}, "denoising_strength", "no step to run"),
        ({"subseed": 5, "subseed_strength": 0.2}, "subseed_strength", "no variation seed"),
        ({"init_image": None, "denoising_strength": 0.5}, "denoising_strength", "init_image"),
    ],
)
def test_bad_init_requests_name_their_field(diffusers_settings, changes, field, words):
    image, _ = pair()
    request = {"kind": "bulk", "emotion": "calm", "width": 96, "height": 64, "steps": 4, "init_image": image.pk, **changes}
    errors = field_errors(JobRequest(**request))
    assert words in errors[field], errors


def test_a_retouch_job_names_its_source_another_way(diffusers_settings):
    image, _ = pair()
    assert "image_id" in field_errors(JobRequest(kind="retouch", init_image=image.pk))["init_image"]


# --- the picture each batch starts from --------------------------------------------------------------


def test_each_orientation_starts_from_its_own_picture():
    landscape, portrait = pair()
    assert portrait is not None
    start = np.asarray(init_picture(landscape.pk, width=96, height=64), np.int16)
    assert start.shape == (64, 96, 3) and start[..., 0].mean() > 150  # the red landscape itself
    # The portrait batch starts from the blue twin, resized to the batch's size.
    start = np.asarray(init_picture(landscape.pk, width=24, height=32), np.int16)
    assert start.shape == (32, 24, 3) and start[..., 2].mean() > 150
    assert np.asarray(init_picture(portrait.pk, width=96, height=64), np.int16)[..., 0].mean() > 150


def test_without_a_twin_the_picture_is_cropped_to_the_other_shape():
    landscape, _ = pair(twin=False)
    start = np.asarray(init_picture(landscape.pk, width=64, height=96), np.int16)
    assert start.shape == (96, 64, 3) and start[..., 0].mean() > 150


def test_a_missing_init_image_fails_the_job_naming_it(diffusers_settings):
    image, _ = pair(twin=False)
    job = services.create_job(request=JobRequest(emotion="calm", width=96, height=64, steps=4, init_image=image.pk), enqueue=False)
    Image.objects.filter(pk=image.pk).delete()
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.FAILED and f"#{image.pk}" in job.error


# --- painted by the pipeline ---------------------------------------------------------------------------


def run(**request) -> GenerationJob:
    job = services.create_job(request=JobRequest(emotion="calm", width=96, height=64, steps=4, seed=3, **request), enqueue=False)
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    return job


def test_an_img2img_job_paints_from_its_picture_and_records_it(diffusers_settings):
    red, _ = pair(twin=False)
    timestr = "20260101-000000-abcdef"
    key = keys.build_key(prefix=keys.SERVING_PREFIX, emotion="calm", favorite="", timestr=timestr, index=0, orientation=keys.LANDSCAPE)
    blue = create_image(
        key=key,
        content=jpeg(96, 64, (30, 30, 200)),
        width=96,
        height=64,
        status=Image.Status.SERVING,
    )
    from_red = pixels_of(run(init_image=red.pk, denoising_strength=0.5).images.get())
    from_blue = pixels_of(run(init_image=blue.pk, denoising_strength=0.5).images.get())
    from_noise = pixels_of(run().images.get())
    # Same seed, prompt and steps: only the picture differs, and so does what is painted.
    assert np.abs(from_red - from_blue).mean() > 1
    assert np.abs(from_red - from_noise).mean() > 1
    job = GenerationJob.objects.filter(options__init_image=red.pk).get()
    child = job.images.get()
    assert (child.parameters["init_image"], child.parameters["denoising_strength"]) == (red.pk, 0.5)
    # Only half the steps ran, and progress still ends at the whole.
    assert job.steps_done == job.steps_total


def test_a_lower_strength_keeps_more_of_the_picture(diffusers_settings):
    red, _ = pair(twin=False)
    start = pixels_of(red)
    near = pixels_of(run(init_image=red.pk, denoising_strength=0.25).images.get())
    far = pixels_of(run(init_image=red.pk, denoising_strength=1.0).images.get())
    assert np.abs(near - start).mean() < np.abs(far - start).mean()


def test_a_bulk_img2img_job_paints_the_pair_from_both_orientations(diffusers_settings):
    landscape, _ = pair()
    job = run(kind="bulk", init_image=landscape.pk, denoising_strength=0.5)
    made = {image.orientation: image for image in job.images.all()}
    assert (made["h"].width, made["h"].height, made["v"].width, made["v"].height) == (96, 64, 64, 96)
    assert all(image.parameters["init_image"] == landscape.pk for image in made.values())


def test_an_init_image_whose_file_is_not_a_picture_fails_the_job_naming_it(diffusers_settings):
    from django.core.files.base import ContentFile

    image, _ = pair(twin=False)
    job = services.create_job(request=JobRequest(emotion="calm", width=96, height=64, steps=4, init_image=image.pk), enqueue=False)
    default_storage.delete(image.key)
    default_storage.save(image.key, ContentFile(b"not a picture"))
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.FAILED and "not a readable picture" in job.error and f"#{image.pk}" in job.error
