"""The invisible watermark: the 48 bits diffusers' SDXL pipelines embed (Stability AI's message),
with ``imwatermark``'s ``dwtDctSvd`` method, reimplemented here with batched numpy.

Not ``dwtDct``, the method diffusers uses: on procedural 768x512 pictures its mark read back
21-35 of 48 bits from our own JPEG (quality 90), where ``dwtDctSvd`` read 48 of 48 after that
JPEG and a re-save at quality 85 (docs/provenance.md has the command and the figures).

``imwatermark`` loops in Python over 4x4 blocks (an OpenCV DCT and a LAPACK SVD each: ~330 ms a
768x512 picture) and imports torch for another method. The same steps here work on all blocks at
once, and ``imwatermark``'s own decoder reads the mark (tests/provenance):

1. BGR to YUV with OpenCV (float planes: its float constants and its 0.5 chroma offset);
2. a one-level Haar DWT of the U plane cropped to multiples of 4; the approximation band, cut
   into 4x4 blocks in row order, carries bit ``i % 48`` in block ``i``;
3. per block, an orthonormal DCT-II (``D @ B @ D.T``, what ``cv2.dct`` computes, as one 16x16 product) and its largest
   singular value s0 moved to ``(s0 // 36 + 0.25 + 0.5 * bit) * 36``: the coefficients change by
   ``(s0' - s0) u0 v0^T`` (u0, v0 its singular vectors), then the inverse DCT;
4. the inverse DWT, with the horizontal and vertical detail bands swapped as ``imwatermark`` does
   (``pywt.idwt2((ca, (v, h, d)))``), and YUV back to BGR.

The top singular triple comes from repeated squaring of the Gram matrix C^T C (a power
iteration); blocks where it has not converged (two near-equal singular values, or an all-zero
block) take ``np.linalg.svd``. Decoding reads ``s0 % 36 > 18`` per block, averaged per bit.
It needs numpy and OpenCV (``requirements/generation.txt``); ``available()`` says whether they
are installed without importing OpenCV.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage

from config.caches import memoized

METHOD = "dwtDctSvd"
# diffusers/pipelines/stable_diffusion_xl/watermark.py: WATERMARK_MESSAGE and its bits.
MESSAGE = 0b101100111110110010010000011110111011000110011110
BITS = [int(bit) for bit in bin(MESSAGE)[2:]]
# imwatermark refuses pictures under 256x256 pixels in area.
MIN_AREA = 256 * 256
# Bits that may flip and still count as our mark: 48 random bits match 44 or more by chance
# with p ~ 1e-9, and a JPEG re-encode may flip one or two.
MIN_MATCHING_BITS = 44
# An edit marked over part of the picture only (a retouch: the box it repainted) names that box in
# its EXIF parameters under this key, as [x, y, width, height], or None when it carries no mark;
# the mark is read back over that box (provenance.report).
REGION_PARAMETER = "watermark_box"
# imwatermark's EmbedDwtDctSvd defaults: scales [0, 36, 0] (the U plane only), 4x4 blocks.
SCALE = 36.0
BLOCK = 4
_PLANE = 1
_SQUARINGS = 5
_CONVERGED = 1e-7


def _dct_matrix(n: int) -> np.ndarray:
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


_D = _dct_matrix(BLOCK)
# The 2-D DCT of a row-major flattened block as one product: vec(D B D^T) = (D kron D) vec(B).
_DCT = np.kron(_D, _D)
_BITS = np.array(BITS, dtype=np.float64)


@memoized(key="nothing", fresh="none: whether OpenCV imports in this process")
def available() -> bool:
    """OpenCV imports here (the GUI build also needs libGL: an image without it paints unmarked, not failing)."""
    try:
        import cv2  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def fits(picture: PILImage.Image) -> bool:
    return picture.width * picture.height >= MIN_AREA


def _haar(plane: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """pywt.dwt2(plane, "haar") for even sides: (cA, (cH, cV, cD))."""
    low, high = plane[0::2] + plane[1::2], plane[0::2] - plane[1::2]
    return (
        (low[:, 0::2] + low[:, 1::2]) * 0.5,
        ((high[:, 0::2] + high[:, 1::2]) * 0.5, (low[:, 0::2] - low[:, 1::2]) * 0.5, (high[:, 0::2] - high[:, 1::2]) * 0.5),
    )


def _inverse_haar(approximation: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """pywt.idwt2((cA, (cH, cV, cD)), "haar")."""
    rows, cols = approximation.shape
    low = np.empty((rows, 2 * cols), approximation.dtype)
    high = np.empty((rows, 2 * cols), approximation.dtype)
    low[:, 0::2], low[:, 1::2] = (approximation + vertical) * 0.5, (approximation - vertical) * 0.5
    high[:, 0::2], high[:, 1::2] = (horizontal + diagonal) * 0.5, (horizontal - diagonal) * 0.5
    plane = np.empty((2 * rows, 2 * cols), approximation.dtype)
    plane[0::2], plane[1::2] = low + high, low - high
    return plane


def _blocks(band: np.ndarray) -> np.ndarray:
    """The band's whole 4x4 blocks in row order, as an (N, 4, 4) float64 array."""
    rows, cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    cut = band[: rows * BLOCK, : cols * BLOCK].astype(np.float64)
    return cut.reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)


def _top_singular(coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each matrix's largest singular value s0 and its vectors u0, v0 (signs as they come: only
    s0 u0 v0^T is used)."""
    gram = np.matmul(coefficients.transpose(0, 2, 1), coefficients)
    power = gram
    for _ in range(_SQUARINGS):
        trace = np.einsum("nii->n", power)
        power = np.matmul(power * (1.0 / np.maximum(trace, 1e-300))[:, None, None], power)
    column = np.argmax(np.einsum("nij,nij->nj", power, power), axis=1)
    right = power[np.arange(len(power)), :, column]
    right *= (1.0 / np.maximum(np.sqrt(np.einsum("ni,ni->n", right, right)), 1e-300))[:, None]
    left = np.einsum("nij,nj->ni", coefficients, right)
    value = np.sqrt(np.einsum("ni,ni->n", left, left))
    left *= (1.0 / np.maximum(value, 1e-300))[:, None]
    residual = np.einsum("nij,nj->ni", gram, right) - (value * value)[:, None] * right
    unsettled = np.sqrt(np.einsum("ni,ni->n", residual, residual)) > _CONVERGED * np.maximum(value * value, 1e-12)
    if unsettled.any():
        u, s, vt = np.linalg.svd(coefficients[unsettled])
        value[unsettled], left[unsettled], right[unsettled] = s[:, 0], u[:, :, 0], vt[:, 0, :]
    return value, left, right


def _rgb(picture: PILImage.Image) -> np.ndarray:
    # RGB order kept: OpenCV's RGB2YUV is its BGR2YUV on the flipped array (no flipped copy).
    return np.asarray(picture.convert("RGB"), dtype=np.float32)


def _dct(blocks: np.ndarray) -> np.ndarray:
    return (blocks.reshape(-1, BLOCK * BLOCK) @ _DCT.T).reshape(-1, BLOCK, BLOCK)


def _idct(coefficients: np.ndarray) -> np.ndarray:
    return (coefficients.reshape(-1, BLOCK * BLOCK) @ _DCT).reshape(-1, BLOCK, BLOCK)


def embed_bgr(bgr: np.ndarray) -> np.ndarray:
    """What ``WatermarkEncoder`` (bits ``BITS``) ``.encode(bgr, "dwtDctSvd")`` returns for a float32
    BGR array, to float rounding."""
    import cv2

    return _embed(bgr, cv2.COLOR_BGR2YUV, cv2.COLOR_YUV2BGR)


def _embed(image: np.ndarray, to_yuv: int, from_yuv: int) -> np.ndarray:
    import cv2

    rows, cols = image.shape[0] // BLOCK * BLOCK, image.shape[1] // BLOCK * BLOCK
    yuv = cv2.cvtColor(image, to_yuv)
    approximation, (horizontal, vertical, diagonal) = _haar(yuv[:rows, :cols, _PLANE])
    blocks = _blocks(approximation)
    coefficients = _dct(blocks)
    value, left, right = _top_singular(coefficients)
    bits = _BITS[np.arange(len(blocks)) % len(BITS)]
    moved = (value // SCALE + 0.25 + 0.5 * bits) * SCALE
    coefficients += (moved - value)[:, None, None] * (left[:, :, None] * right[:, None, :])
    marked = _idct(coefficients)
    block_rows, block_cols = approximation.shape[0] // BLOCK, approximation.shape[1] // BLOCK
    approximation[: block_rows * BLOCK, : block_cols * BLOCK] = (
        marked.reshape(block_rows, block_cols, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(block_rows * BLOCK, block_cols * BLOCK)
    )
    # imwatermark hands the detail bands back swapped: (v, h, d) where dwt2 gave (h, v, d).
    yuv[:rows, :cols, _PLANE] = _inverse_haar(approximation, vertical, horizontal, diagonal)
    return cv2.cvtColor(yuv, from_yuv)


def decode_bgr(bgr: np.ndarray) -> list[int]:
    """What ``WatermarkDecoder("bits", 48).decode(bgr, "dwtDctSvd")`` returns, as 0/1."""
    import cv2

    return _decode(bgr, cv2.COLOR_BGR2YUV)


def _decode(image: np.ndarray, to_yuv: int) -> list[int]:
    import cv2

    rows, cols = image.shape[0] // BLOCK * BLOCK, image.shape[1] // BLOCK * BLOCK
    yuv = cv2.cvtColor(image, to_yuv)
    approximation, _details = _haar(yuv[:rows, :cols, _PLANE])
    blocks = _blocks(approximation)
    value, _left, _right = _top_singular(_dct(blocks))
    scores = (value % SCALE > SCALE * 0.5).astype(np.float64)
    slots = np.arange(len(blocks)) % len(BITS)
    means = np.bincount(slots, weights=scores, minlength=len(BITS)) / np.bincount(slots, minlength=len(BITS))
    return [int(bit) for bit in means * 255 > 127]


def embed(picture: PILImage.Image) -> PILImage.Image:
    """The picture with the mark in its colour planes (RGB; alpha is the caller's), or the same
    picture when it is too small to carry one."""
    if not fits(picture):
        return picture
    # Float planes, as diffusers passes them to imwatermark (from uint8 the library would truncate
    # its inverse wavelet transform back into uint8 and lose most of the mark).
    import cv2

    marked = _embed(_rgb(picture), cv2.COLOR_RGB2YUV, cv2.COLOR_YUV2RGB)
    np.clip(marked, 0, 255, out=marked)
    return PILImage.fromarray(np.rint(marked, out=marked).astype(np.uint8), "RGB")


def matching_bits(picture: PILImage.Image) -> int | None:
    """How many of the 48 bits decode as ours; None when the picture is too small to carry them."""
    if not fits(picture):
        return None
    import cv2

    return int(sum(a == b for a, b in zip(_decode(_rgb(picture), cv2.COLOR_RGB2YUV), BITS, strict=True)))


def detect(picture: PILImage.Image) -> bool:
    matched = matching_bits(picture)
    return matched is not None and matched >= MIN_MATCHING_BITS
