"""The torch port of the watermark (provenance/watermark_torch.py) against the numpy one, on CPU
tensors: the same pixels within one level after rounding, and read back by both decoders
(ours and imwatermark's)."""

import io

import numpy as np
import pytest
from PIL import Image

from generation.backends import procedural
from provenance import watermark

pytestmark = pytest.mark.backend_free
torch = pytest.importorskip("torch")

from provenance import watermark_torch  # noqa: E402 (needs torch)
from tests.provenance.test_provenance import library_bits, resaved  # noqa: E402

# Tolerance: at most 1 level (1/255) on any pixel after clipping and rounding, and at most 0.1 % of
# pixels differing at all (the float64 block arithmetic is numpy's; the colour planes are float32
# formulas where numpy's path calls OpenCV, so a value at a half can round the other way).
MAX_LEVELS = 1
MAX_DIFFERING = 1e-3


def as_batch(pictures: list[Image.Image]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.asarray(p.convert("RGB")).copy()).permute(2, 0, 1) for p in pictures]).float()


def as_pictures(batch: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(picture.permute(1, 2, 0).contiguous().numpy(), "RGB") for picture in batch]


@pytest.mark.parametrize(("width", "height"), [(768, 512), (512, 512), (510, 514)])
def test_a_batch_is_marked_as_numpy_marks_each_picture(width, height):
    pictures = [
        procedural.paint(emotion=emotion, favorite="tulip", seed=seed, width=width, height=height)
        for emotion, seed in (("happy", 3), ("sad", 1), ("calm", 7))
    ]
    marked = watermark_torch.embed_uint8(as_batch(pictures))
    assert marked.dtype == torch.uint8 and marked.shape == (3, 3, height, width)
    for picture, ours in zip(pictures, as_pictures(marked), strict=True):
        difference = np.abs(np.asarray(watermark.embed(picture), dtype=np.int16) - np.asarray(ours, dtype=np.int16))
        assert difference.max() <= MAX_LEVELS
        assert (difference > 0).mean() <= MAX_DIFFERING
        assert watermark.matching_bits(ours) == 48
    assert watermark_torch.matching_bits(marked) == [48, 48, 48]
    assert watermark_torch.matching_bits(as_batch(pictures)) == [watermark.matching_bits(p) for p in pictures]


def test_imwatermarks_decoder_reads_the_torch_mark_through_our_jpeg_and_a_resave():
    picture = procedural.paint(emotion="angry", favorite="rose", seed=2, width=768, height=512)
    (marked,) = as_pictures(watermark_torch.embed_uint8(as_batch([picture])))
    buffer = io.BytesIO()
    marked.save(buffer, "JPEG", quality=90)
    stored = Image.open(io.BytesIO(buffer.getvalue()))
    assert library_bits(marked) == library_bits(stored) == library_bits(resaved(stored, 85)) == 48
    assert watermark.matching_bits(resaved(stored, 85)) == 48
    assert library_bits(picture) < watermark.MIN_MATCHING_BITS


def test_small_pictures_pass_unmarked_and_a_wrong_layout_is_refused():
    small = torch.randint(0, 256, (2, 3, 200, 200)).float()
    assert torch.equal(watermark_torch.embed_uint8(small), small.to(torch.uint8))
    assert watermark_torch.matching_bits(small) is None
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        watermark_torch.embed(torch.zeros(1, 512, 512, 3))


def test_flat_and_noisy_pictures_take_the_svd_for_unsettled_blocks():
    flat = torch.full((1, 3, 256, 256), 128.0)  # every block's coefficients but one are zero
    noise = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 3, 256, 256)).astype(np.float32))
    for batch in (flat, noise):
        (picture,) = as_pictures(batch.to(torch.uint8))
        difference = np.abs(
            np.asarray(watermark.embed(picture), dtype=np.int16) - watermark_torch.embed_uint8(batch)[0].permute(1, 2, 0).numpy()
        )
        assert difference.max() <= MAX_LEVELS
