"""The invisible watermark of ``provenance.watermark`` on torch tensors, for GPU workers.

The same steps as the numpy embedding (read its docstring), on a batch of pictures at once and on
any device, so a GPU worker marks its decoded pictures where they are and only JPEG bytes leave the
card:

- input: a ``(B, 3, H, W)`` float tensor, RGB, values 0…255 (channels first: what a VAE decodes,
  times 255). ``embed_uint8`` returns the marked batch clipped and rounded to ``uint8`` in that
  layout, the pixels ``watermark.embed`` gives the same picture (tests/provenance: at most one level
  apart on any pixel, nearly all equal, and read back as 48 of 48 bits by both decoders);
- YUV with OpenCV's float constants (RGB2YUV and back, the 0.5 chroma offset), as formulas;
- the Haar step as strided slices, the 4x4 blocks by reshape, the DCT as one 16x16 product;
- the largest singular triple by the same Gram-matrix squaring, blocks that have not converged by
  ``torch.linalg.svd``; the block arithmetic in float64 (as numpy's), the colour planes in float32.

torch is imported by the caller's process (a GPU worker holds it): this module imports it at the
top, and nothing at a lower layer imports this module at start.
"""

from __future__ import annotations

import torch

from provenance.watermark import _BITS, _CONVERGED, _DCT, _SQUARINGS, BLOCK, MIN_AREA, SCALE

# OpenCV's float RGB<->YUV constants (color_yuv: B2YF, G2YF, R2YF, B2UF, R2VF; U2BF, U2GF, V2GF, V2RF).
_TO_Y = (0.299, 0.587, 0.114)
_B2U, _R2V, _U2B, _U2G, _V2G, _V2R = 0.492, 0.877, 2.032, -0.395, -0.581, 1.140
_DELTA = 0.5


def fits(batch: torch.Tensor) -> bool:
    return batch.shape[-2] * batch.shape[-1] >= MIN_AREA


def _haar(plane: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``watermark._haar`` on ``(B, H, W)`` planes."""
    low, high = plane[:, 0::2] + plane[:, 1::2], plane[:, 0::2] - plane[:, 1::2]
    return (
        (low[:, :, 0::2] + low[:, :, 1::2]) * 0.5,
        (
            (high[:, :, 0::2] + high[:, :, 1::2]) * 0.5,
            (low[:, :, 0::2] - low[:, :, 1::2]) * 0.5,
            (high[:, :, 0::2] - high[:, :, 1::2]) * 0.5,
        ),
    )


def _inverse_haar(approximation: torch.Tensor, horizontal: torch.Tensor, vertical: torch.Tensor, diagonal: torch.Tensor) -> torch.Tensor:
    """``watermark._inverse_haar`` on ``(B, h, w)`` bands, written into strided slices."""
    batch, rows, cols = approximation.shape
    low = approximation.new_empty((batch, rows, 2 * cols))
    high = approximation.new_empty((batch, rows, 2 * cols))
    low[:, :, 0::2], low[:, :, 1::2] = (approximation + vertical) * 0.5, (approximation - vertical) * 0.5
    high[:, :, 0::2], high[:, :, 1::2] = (horizontal + diagonal) * 0.5, (horizontal - diagonal) * 0.5
    plane = approximation.new_empty((batch, 2 * rows, 2 * cols))
    plane[:, 0::2], plane[:, 1::2] = low + high, low - high
    return plane


def _top_singular(coefficients: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``watermark._top_singular`` on an ``(N, 4, 4)`` tensor."""
    tiny = 1e-300 if coefficients.dtype == torch.float64 else 1e-30
    gram = coefficients.transpose(1, 2) @ coefficients
    power = gram
    for _ in range(_SQUARINGS):
        trace = power.diagonal(dim1=1, dim2=2).sum(-1)
        power = (power * (1.0 / trace.clamp_min(tiny))[:, None, None]) @ power
    column = (power * power).sum(1).argmax(1)
    right = torch.take_along_dim(power, column[:, None, None], dim=2)[:, :, 0]
    right = right * (1.0 / (right * right).sum(-1).sqrt().clamp_min(tiny))[:, None]
    left = (coefficients @ right[:, :, None])[:, :, 0]
    value = (left * left).sum(-1).sqrt()
    left = left * (1.0 / value.clamp_min(tiny))[:, None]
    residual = (gram @ right[:, :, None])[:, :, 0] - (value * value)[:, None] * right
    unsettled = residual.norm(dim=-1) > _CONVERGED * (value * value).clamp_min(1e-12)
    if bool(unsettled.any()):  # one host sync per batch
        u, s, vt = torch.linalg.svd(coefficients[unsettled])
        value[unsettled], left[unsettled], right[unsettled] = s[:, 0], u[:, :, 0], vt[:, 0, :]
    return value, left, right


def embed(batch: torch.Tensor, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The marked ``(B, 3, H, W)`` RGB batch, float32 0…255 (unclipped, unrounded); the batch as it
    is when its pictures are under ``MIN_AREA``. ``dtype``: the block arithmetic's precision."""
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"expected a (B, 3, H, W) RGB batch, got {tuple(batch.shape)}")
    image = batch.to(torch.float32)
    if not fits(image):
        return image
    count, _, height, width = image.shape
    rows, cols = height // BLOCK * BLOCK, width // BLOCK * BLOCK
    red, green, blue = image[:, 0], image[:, 1], image[:, 2]
    luma = _TO_Y[0] * red + _TO_Y[1] * green + _TO_Y[2] * blue
    u_plane = (blue - luma) * _B2U + _DELTA
    v_plane = (red - luma) * _R2V + _DELTA
    approximation, (horizontal, vertical, diagonal) = _haar(u_plane[:, :rows, :cols])
    block_rows, block_cols = approximation.shape[1] // BLOCK, approximation.shape[2] // BLOCK
    cut = approximation[:, : block_rows * BLOCK, : block_cols * BLOCK].to(dtype)
    blocks = cut.reshape(count, block_rows, BLOCK, block_cols, BLOCK).permute(0, 1, 3, 2, 4).reshape(-1, BLOCK * BLOCK)
    dct = torch.as_tensor(_DCT, dtype=dtype, device=image.device)
    coefficients = (blocks @ dct.T).reshape(-1, BLOCK, BLOCK)
    value, left, right = _top_singular(coefficients)
    per_picture = block_rows * block_cols
    bits = torch.as_tensor(_BITS, dtype=dtype, device=image.device)[torch.arange(per_picture, device=image.device) % len(_BITS)].repeat(
        count
    )
    moved = (torch.div(value, SCALE, rounding_mode="floor") + 0.25 + 0.5 * bits) * SCALE
    coefficients = coefficients + (moved - value)[:, None, None] * (left[:, :, None] * right[:, None, :])
    marked = (coefficients.reshape(-1, BLOCK * BLOCK) @ dct).reshape(count, block_rows, block_cols, BLOCK, BLOCK)
    marked = marked.permute(0, 1, 3, 2, 4).reshape(count, block_rows * BLOCK, block_cols * BLOCK).to(torch.float32)
    approximation = approximation.clone()
    approximation[:, : block_rows * BLOCK, : block_cols * BLOCK] = marked
    # imwatermark hands the detail bands back swapped: (v, h, d) where dwt2 gave (h, v, d).
    u_plane = u_plane.clone()
    u_plane[:, :rows, :cols] = _inverse_haar(approximation, vertical, horizontal, diagonal)
    # YUV back to RGB with OpenCV's constants (Y and V as computed: its round trip is not exact).
    u_offset, v_offset = u_plane - _DELTA, v_plane - _DELTA
    rgb = image.new_empty(image.shape)
    rgb[:, 0], rgb[:, 1], rgb[:, 2] = luma + _V2R * v_offset, luma + _U2G * u_offset + _V2G * v_offset, luma + _U2B * u_offset
    return rgb


def embed_uint8(batch: torch.Tensor, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``embed`` clipped to 0…255 and rounded half to even (numpy's ``rint``), as ``uint8``."""
    return embed(batch, dtype=dtype).clamp_(0, 255).round_().to(torch.uint8)


def matching_bits(batch: torch.Tensor, *, dtype: torch.dtype = torch.float64) -> list[int] | None:
    """How many of the 48 bits decode as ours, per picture of a ``(B, 3, H, W)`` RGB batch (the
    numpy decoder's rule); None when the pictures are too small to carry them."""
    image = batch.to(torch.float32)
    if not fits(image):
        return None
    count, _, height, width = image.shape
    rows, cols = height // BLOCK * BLOCK, width // BLOCK * BLOCK
    luma = _TO_Y[0] * image[:, 0] + _TO_Y[1] * image[:, 1] + _TO_Y[2] * image[:, 2]
    approximation, _details = _haar(((image[:, 2] - luma) * _B2U + _DELTA)[:, :rows, :cols])
    block_rows, block_cols = approximation.shape[1] // BLOCK, approximation.shape[2] // BLOCK
    cut = approximation[:, : block_rows * BLOCK, : block_cols * BLOCK].to(dtype)
    blocks = cut.reshape(count, block_rows, BLOCK, block_cols, BLOCK).permute(0, 1, 3, 2, 4).reshape(-1, BLOCK * BLOCK)
    value, _left, _right = _top_singular((blocks @ torch.as_tensor(_DCT, dtype=dtype, device=image.device).T).reshape(-1, BLOCK, BLOCK))
    scores = (torch.remainder(value, SCALE) > SCALE * 0.5).to(torch.float64).reshape(count, -1)
    slots = torch.arange(scores.shape[1], device=image.device) % len(_BITS)
    sums = torch.zeros(count, len(_BITS), dtype=torch.float64, device=image.device).index_add_(1, slots, scores)
    means = sums / torch.bincount(slots, minlength=len(_BITS)).to(torch.float64)
    decoded = (means * 255 > 127).to(torch.int64)
    expected = torch.as_tensor(_BITS, dtype=torch.int64, device=image.device)
    return (decoded == expected).sum(1).tolist()
