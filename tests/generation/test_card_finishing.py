"""generation/worker/card_finishing.py on CPU tensors against today's CPU path: the JPEG's pixels within a
level of ``encode_jpeg``'s (the watermark's float rounding), byte for byte when unmarked, the
metadata segments byte for byte, and the verdicts ``check_picture``'s, through
``storing.store_generated_image`` too."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from garden import keys
from generation.backends import procedural
from generation.imagefile import encode_jpeg, finish_jpeg, read_parameters
from generation.worker import card_finishing
from provenance import watermark, xmp
from safety import images

torch = pytest.importorskip("torch")

# The stored JPEG's pixels after decoding: at most this many levels from the CPU path's, on at
# most this share of pixels (a marked pixel a level apart can move its 8x8 block's JPEG a little).
MAX_LEVELS = 8
MAX_DIFFERING = 0.01


def paintings(count: int = 3, size: int = 512) -> list[PILImage.Image]:
    emotions = ("happy", "sad", "calm", "fear")[:count]
    return [procedural.paint(emotion=e, favorite="skin,beach", seed=seed, width=size, height=size) for seed, e in enumerate(emotions)]


def as_batch(pictures: list[PILImage.Image]) -> torch.Tensor:
    """What a pipeline's ``output_type="pt"`` gives for these pictures: floats 0…1."""
    return torch.stack([torch.from_numpy(np.asarray(p).copy()).permute(2, 0, 1) for p in pictures]).float() / 255


def parameters(seed: int) -> dict:
    return {"generator": "diffusers", "model_id": "/models/sd-turbo", "model": "sd-turbo", "seed": seed, "prompt": 'a "tulip" <é>'}


def decoded(content: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(content)).convert("RGB"), dtype=np.int16)


@pytest.mark.backend_free
def test_unmarked_files_are_encode_jpegs_bytes_and_the_verdicts_check_pictures(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK, settings.GARDEN_SAFETY_THRESHOLD = True, 0.001
    pictures = paintings(4)
    done = card_finishing.finish_batch(as_batch(pictures), [parameters(n) for n in range(4)], watermark=False, optimize=True)
    for number, (picture, result) in enumerate(zip(pictures, done, strict=True)):
        assert result.content == encode_jpeg(picture, parameters(number), watermark=False, optimize=True)
        assert result.verdict == images.check_picture(picture)
    assert {result.verdict.verdict for result in done} == {"passed", "flagged"}  # scores on both sides of the threshold


@pytest.mark.backend_free
def test_marked_files_decode_within_a_few_levels_and_carry_the_mark_and_the_metadata(settings):
    settings.GARDEN_PROVENANCE_WATERMARK = True
    pictures = paintings()
    done = card_finishing.finish_batch(as_batch(pictures), [parameters(n) for n in range(3)])
    for number, (picture, result) in enumerate(zip(pictures, done, strict=True)):
        expected = encode_jpeg(picture, parameters(number), optimize=False)
        difference = np.abs(decoded(result.content) - decoded(expected))
        assert difference.max() <= MAX_LEVELS and (difference > 0).mean() <= MAX_DIFFERING, (difference.max(), (difference > 0).mean())
        assert watermark.matching_bits(PILImage.open(io.BytesIO(result.content))) == 48
        assert read_parameters(result.content) == parameters(number)
        assert xmp.raw_packet(result.content) == xmp.raw_packet(expected)


@pytest.mark.backend_free
def test_uint8_batches_small_pictures_and_a_check_that_cannot_run(settings, monkeypatch):
    settings.GARDEN_SAFETY_IMAGE_CHECK = True
    small = paintings(2, size=128)  # under the watermark's area: stored unmarked, as encode_jpeg does
    batch = (as_batch(small) * 255).round().to(torch.uint8)
    done = card_finishing.finish_batch(batch, [parameters(0), parameters(1)], diffusers_nsfw=[True, False])
    assert [result.content for result in done] == [encode_jpeg(p, parameters(n), optimize=False) for n, p in enumerate(small)]
    expected = [images.check_picture(p, diffusers_nsfw=flag) for p, flag in zip(small, (True, False), strict=True)]
    assert [result.verdict for result in done] == expected

    def broken(_inputs):
        raise RuntimeError("no model")

    monkeypatch.setattr(images, "nsfw_scores", broken)
    done = card_finishing.finish_batch(batch, [parameters(0), parameters(1)])
    assert [result.verdict.verdict for result in done] == ["unchecked", "unchecked"]
    assert "no model" in done[0].verdict.reason
    settings.GARDEN_SAFETY_IMAGE_CHECK = False
    assert card_finishing.finish_batch(batch[:1], [parameters(0)])[0].verdict == images.OFF
    with pytest.raises(ValueError, match="parameter sets"):
        card_finishing.finish_batch(batch, [parameters(0)])


@pytest.mark.backend_free
def test_the_card_encodes_only_with_torchvision_on_cuda():
    reason = card_finishing.device_jpeg_off(torch.device("cuda"))
    try:
        import torchvision  # noqa: F401
    except ImportError:
        assert reason.startswith("torchvision is not installed")
    else:
        assert reason == "" or "0.19" in reason
    if not reason:
        assert "cpu" in card_finishing.device_jpeg_off(torch.device("cpu"))


@pytest.mark.django_db
def test_the_same_as_store_generated_image_writes(settings):
    from generation.models import GenerationJob
    from generation.planning import ImageSpec
    from generation.worker import storing

    settings.GARDEN_PROVENANCE_WATERMARK, settings.GARDEN_SAFETY_IMAGE_CHECK = True, True
    fields = {"emotion": "calm", "prompt": "p", "width": 512, "height": 512, "steps": 1, "guidance": 0.0, "seed": 1}
    fields["timestr"] = "20260101-000000-abc"
    job = GenerationJob.objects.create(**fields)
    (picture,) = paintings(1)
    spec = ImageSpec(0, keys.LANDSCAPE, 512, 512, 1)
    description = {"generator": "diffusers", "model_id": "/models/sd-turbo"}
    image, content = storing.store_generated_image(job=job, spec=spec, picture=picture, description=description, quick=True)
    (result,) = card_finishing.finish_batch(
        as_batch([picture]), [storing.generation_parameters(job=job, spec=spec, description=description)]
    )
    assert result.verdict == images.Verdict.of_image(image)
    difference = np.abs(decoded(result.content) - decoded(content))
    assert difference.max() <= MAX_LEVELS and (difference > 0).mean() <= MAX_DIFFERING
    assert read_parameters(result.content) == read_parameters(content)
    (bare,) = card_finishing.finish_batch(as_batch([picture]), [{}], metadata=False)
    assert read_parameters(bare.content) == {} and xmp.raw_packet(bare.content) == b""
    assert finish_jpeg(bare.content, storing.generation_parameters(job=job, spec=spec, description=description)) == result.content


@pytest.mark.backend_free
def test_importing_the_seam_imports_no_torch():
    """Web processes may import generation's modules: torch comes only with the first call."""
    import subprocess
    import sys

    from django.conf import settings as django_settings

    code = "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); "
    code += "import generation.worker.card_finishing, generation.imagefile; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(django_settings.BASE_DIR))
    assert result.stdout.strip() == "False"
