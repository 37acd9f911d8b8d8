"""Finishing on the card, run on the CPU (GARDEN_CARD_FINISHING=on): a gathered call's pictures stay
tensors, are checked, watermarked and encoded where they lie (generation.worker.card_finishing), and only
bytes and verdicts reach finishing, which splices the EXIF/XMP in and stores them. The stored
pictures are those of the ordinary path, within JPEG's rounding (docs/generation.md#finishing-on-the-card)."""

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from generation import backends
from generation.imagefile import read_parameters
from generation.worker import card_finishing, runner
from tests.generation.gather_support import PROMPTS, live_diffusers, live_job, sensitive_dir  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_diffusers")]


def _stored(job):
    image = job.images.get()
    with default_storage.open(image.key) as handle:
        content = handle.read()
    return image, content, np.asarray(PILImage.open(io.BytesIO(content)).convert("RGB"), dtype=np.int16)


def test_finishing_on_the_card_stores_what_the_ordinary_path_stores(settings, monkeypatch):
    painted = []
    backend = backends.get_backend("diffusers")
    original = backend.generate_tensors

    def generate_tensors(batch, *, on_step=None):
        painted.append(list(batch.seeds))
        return original(batch, on_step=on_step)

    monkeypatch.setattr(backend, "generate_tensors", generate_tensors)
    settings.GARDEN_CARD_FINISHING = "on"
    on_card = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2], start=20)]
    runner.execute_job(job_id=on_card[0].pk)
    assert painted == [[20, 21]]  # one call, its tensors finished on the card

    settings.GARDEN_CARD_FINISHING = "off"
    ordinary = [live_job(prompt, seed=seed) for seed, prompt in enumerate(PROMPTS[:2], start=20)]
    runner.execute_job(job_id=ordinary[0].pk)
    assert painted == [[20, 21]]  # the ordinary call this time

    for card_job, plain_job in zip(on_card, ordinary, strict=True):
        card_job.refresh_from_db()
        plain_job.refresh_from_db()
        assert (card_job.status, plain_job.status) == ("succeeded", "succeeded")
        card_image, card_content, card_pixels = _stored(card_job)
        plain_image, _plain_content, plain_pixels = _stored(plain_job)
        assert card_image.safety_verdict == plain_image.safety_verdict
        # The metadata was spliced in by finishing: the same parameters as the ordinary file's.
        embedded = read_parameters(card_content)
        assert embedded["seed"] == card_job.seed and embedded["prompt"] == card_job.prompt
        assert card_image.parameters["seed"] == plain_image.parameters["seed"]
        assert np.abs(card_pixels - plain_pixels).max() <= 8  # JPEG of the same pixels (one level of the watermark)


def test_auto_finishes_on_the_card_only_on_a_cuda_device(settings):
    backend = backends.get_backend("diffusers")
    backend.load()
    settings.GARDEN_CARD_FINISHING = "auto"
    assert card_finishing.wanted(backend) is False  # the pipeline lies on the CPU
    settings.GARDEN_CARD_FINISHING = "on"
    assert card_finishing.wanted(backend) is True
    assert card_finishing.wanted(backends.get_backend("procedural")) is False  # no tensors to keep
