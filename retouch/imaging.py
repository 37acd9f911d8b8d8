"""The image maths of a retouch: pure functions of numpy arrays and PIL images (no torch, no Django).

A retouch repaints only a rectangle of the source: the rectangle is cut out, scaled so its
shortest side is the working size, repainted by the model, scaled back, colour-matched to a ring
of untouched pixels around the mask, and composited through the feathered mask × opacity. The
composite is integer arithmetic in which a zero alpha gives back the source byte for byte, so
every pixel outside the feathered mask is identical to the source (no VAE round trip, no seam).
The invisible watermark is embedded over the box of the pixels that composite changes
(``mark_box``) and composited back through the same mask, so it too stays inside it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from generation.imagefile import as_rgb as as_rgb  # re-exported: retouching reads pictures with it
from provenance import watermark

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MASKED_CONTENT = ("original", "fill", "noise", "nothing")
MARK_GRID = 16  # JPEG's 4:2:0 chroma block, in pixels
# The share of the watermark's box that must be fully repainted for the mark to read back (a thin
# stroke across a large box leaves it mostly source pixels: docs/provenance.md has the figures).
MIN_MARK_COVERAGE = 0.3
Rect = tuple[int, int, int, int]  # x, y, width, height in source pixels


class InvalidImage(ValueError):
    """An upload that is not a usable picture; ``too_large`` marks a decompression bomb (413)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


def sniff(content: bytes) -> str | None:
    """The format by magic bytes, whatever a file name or Content-Type claims."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None


def open_image(content: bytes, *, max_pixels: int, what: str = "image") -> Image.Image:
    """A fully decoded PNG, JPEG or WebP, EXIF orientation applied; InvalidImage otherwise.

    The pixel count is checked from the header before anything is decoded (decompression bombs),
    and the whole file is decoded here, so a truncated upload is refused at once, never later.
    """
    kind = sniff(content)
    if kind is None:
        raise InvalidImage(f"The {what} is not a PNG, JPEG or WebP file.")
    try:
        opened = Image.open(io.BytesIO(content), formats=[FORMATS[kind]])
        width, height = opened.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise InvalidImage(
                f"The {what} is {width}x{height}: more than {max_pixels} pixels (GARDEN_RETOUCH_MAX_PIXELS).", too_large=True
            )
        opened.load()
        picture = ImageOps.exif_transpose(opened)
    except InvalidImage:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InvalidImage(f"The {what} could not be decoded (truncated or corrupt): {exc}") from None
    return picture


def mask_array(mask: Image.Image, size: tuple[int, int], *, invert: bool = False) -> np.ndarray:
    """White or opaque = repaint, as a boolean array of the source's size.

    A mask with transparency is read by its alpha (painted strokes on a transparent layer), any
    other by its brightness (white on black). A mask of another size is scaled (nearest) when its
    aspect ratio is the source's; otherwise it is refused.
    """
    width, height = size
    if mask.size != size:
        mask_width, mask_height = mask.size
        if abs(mask_width * height - mask_height * width) > max(width, height):
            raise InvalidImage(
                f"The mask is {mask_width}x{mask_height} but the image is {width}x{height}: give a mask of the image's size."
            )
        mask = mask.resize(size, Image.Resampling.NEAREST)
    if mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info):
        alpha = np.asarray(mask.convert("RGBA").getchannel("A"))
        values = alpha if alpha.min() < 255 else np.asarray(mask.convert("L"))
    else:
        values = np.asarray(mask.convert("L"))
    repaint = values >= 128
    return ~repaint if invert else repaint


def bounding_box(mask: np.ndarray) -> Rect | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def union_box(boxes: list[Rect]) -> Rect:
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return left, top, right - left, bottom - top


def padded(box: Rect, padding: int, size: tuple[int, int], *, minimum: int = 8) -> Rect:
    """The box grown by ``padding`` on every side, at least ``minimum`` wide and high, inside the image."""
    x, y, w, h = box
    left, right = _span(max(0, x - padding), min(size[0], x + w + padding), size[0], minimum)
    top, bottom = _span(max(0, y - padding), min(size[1], y + h + padding), size[1], minimum)
    return left, top, right - left, bottom - top


def _span(start: int, end: int, limit: int, minimum: int) -> tuple[int, int]:
    if end - start >= minimum or limit < minimum:
        return start, end
    start = max(0, min(start - (minimum - (end - start)) // 2, limit - minimum))
    return start, start + minimum


def working_size(width: int, height: int, *, shortest: int, longest_limit: int) -> tuple[int, int]:
    """The size the model paints the rectangle at: shortest side ``shortest``, multiples of 8.

    An elongated rectangle whose longest side would pass ``longest_limit`` is scaled down instead.
    """
    scale = shortest / min(width, height)
    if max(width, height) * scale > longest_limit:
        scale = longest_limit / max(width, height)
    return max(8, int(width * scale + 4) // 8 * 8), max(8, int(height * scale + 4) // 8 * 8)


def feather_reach(blur: float) -> int:
    """How far (pixels) the feathered mask reaches beyond the hard one: Pillow's Gaussian ≈ 2.5σ."""
    return math.ceil(2.6 * blur) + 1 if blur > 0 else 0


def fade_at_cut_edges(alpha: np.ndarray, rect: Rect, size: tuple[int, int], width: int) -> np.ndarray:
    """Fade the composite mask to 0 over ``width`` pixels where the rectangle cuts through the picture.

    A mask that runs into a user's rectangle would otherwise end in a hard line at its border (the
    repainted crop stops there): the classic inpainting seam. Borders that are the picture's own
    edges need no fade.
    """
    x, y, w, h = rect
    ramp = (np.arange(1, width + 1) / (width + 1)) if width > 0 else np.ones(0)
    columns, rows = np.ones(w), np.ones(h)
    for line, start, end, length in ((columns, x, x + w, size[0]), (rows, y, y + h, size[1])):
        n = min(width, len(line))
        if start > 0:
            line[:n] = np.minimum(line[:n], ramp[:n])
        if end < length:
            line[len(line) - n :] = np.minimum(line[len(line) - n :], ramp[:n][::-1])
    return np.rint(alpha * rows[:, None] * columns[None, :]).astype(np.uint8)


def blur_radius(blur: float) -> int:
    """The radius of A1111's mask-blur kernel for σ=``blur`` (``2 * int(2.5σ + 0.5) + 1`` wide)."""
    return int(2.5 * blur + 0.5) if blur > 0 else 0


def within(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels at most ``radius`` away from the mask along each axis (a square dilation, exact)."""
    if radius <= 0:
        return mask.copy()
    padded = np.pad(mask.astype(np.int32), radius + 1)
    sums = padded.cumsum(axis=0).cumsum(axis=1)
    size = 2 * radius + 1
    window = sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size]
    return window[: mask.shape[0], : mask.shape[1]] > 0


def feather(mask: np.ndarray, blur: float) -> np.ndarray:
    """The soft composite mask (uint8 0..255): the hard mask blurred as A1111 blurs it (OpenCV's
    Gaussian of σ=``blur``, 2·int(2.5σ + 0.5) + 1 taps, along x then y), so the mask and its blur
    cover what they cover in A1111, pixel for pixel. Without OpenCV (``requirements/generation.txt``):
    Pillow's Gaussian, cut at that kernel's radius (it reaches one to three pixels further from σ≈12)."""
    hard = np.where(mask, 255, 0).astype(np.uint8)
    if blur <= 0:
        return hard
    taps = 2 * blur_radius(blur) + 1
    try:
        import cv2
    except (ImportError, OSError):
        soft = np.asarray(Image.fromarray(hard, "L").filter(ImageFilter.GaussianBlur(blur)))
        return np.where(within(mask, blur_radius(blur)), soft, 0).astype(np.uint8)
    return cv2.GaussianBlur(cv2.GaussianBlur(hard, (taps, 1), blur), (1, taps), blur)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a boolean mask by about ``radius`` pixels (a box blur that is non-zero near the mask)."""
    if radius <= 0:
        return mask.copy()
    grown = Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L").filter(ImageFilter.BoxBlur(radius))
    return np.asarray(grown) > 0


def fill_masked(picture: Image.Image, mask: np.ndarray, how: str, *, seed: int = 0) -> Image.Image:
    """Pre-fill the masked area before the model sees it (A1111's ``inpainting_fill``).

    ``fill``: the colours of the surroundings, blurred inward at several radii (A1111's
    ``masking.fill``); ``nothing``: neutral grey (what a zero latent decodes to, roughly);
    ``noise``: Gaussian noise around mid-grey (the model also starts from pure noise: strength 1);
    ``original``: unchanged.
    """
    if how == "original" or not mask.any():
        return picture
    if how == "nothing":
        flat = Image.new("RGB", picture.size, (127, 127, 127))
        return Image.composite(flat, picture, Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L"))
    if how == "noise":
        rng = np.random.default_rng(seed)
        noise = np.clip(rng.normal(127.5, 64.0, (picture.height, picture.width, 3)), 0, 255).astype(np.uint8)
        return Image.composite(Image.fromarray(noise, "RGB"), picture, Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L"))
    keep = Image.fromarray(np.where(mask, 0, 255).astype(np.uint8), "L")
    known = Image.new("RGBa", picture.size)
    known.paste(picture.convert("RGBA").convert("RGBa"), mask=keep)
    filled = Image.new("RGBA", picture.size)
    for radius, repeats in ((256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)):
        blurred = known.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(repeats):
            filled.alpha_composite(blurred)
    return filled.convert("RGB")


# --- colour: sRGB ↔ CIE LAB (D65), for matching the repainted crop to its surroundings --------------

_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]])
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = np.array([0.95047, 1.0, 1.08883])
_EPSILON, _KAPPA = 216 / 24389, 24389 / 27


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    srgb = rgb.astype(np.float64) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f**3 > _EPSILON, f**3, (116 * f - 16) / _KAPPA) * _WHITE
    linear = np.clip(xyz @ _XYZ_TO_RGB.T, 0, 1)
    srgb = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.rint(srgb * 255), 0, 255).astype(np.uint8)


def match_colors(generated: np.ndarray, source: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Shift the repainted crop's LAB mean and spread onto the source's, measured over ``region``.

    ``region`` is a ring of untouched pixels around the mask: there the model's output should
    equal the source, so any difference is the VAE round trip's colour shift, and it is removed
    from the whole crop. An empty region changes nothing (a fully repainted crop has no reference).
    """
    if region.sum() < 16:
        return generated
    lab_generated, lab_source = rgb_to_lab(generated), rgb_to_lab(source)
    have, want = lab_generated[region], lab_source[region]
    spread_have, spread_want = have.std(axis=0), want.std(axis=0)
    # A flat ring says nothing about spread; never amplify noise by more than 2x either way.
    ratio = np.where(spread_have > 1.0, np.clip(spread_want / np.maximum(spread_have, 1e-6), 0.5, 2.0), 1.0)
    corrected = (lab_generated - have.mean(axis=0)) * ratio + want.mean(axis=0)
    return lab_to_rgb(corrected)


def ring(mask: np.ndarray, width: int) -> np.ndarray:
    """Untouched pixels within ``width`` of the mask (where colour matching measures the shift)."""
    return dilate(mask, width) & ~mask


def _weight(alpha: np.ndarray, opacity: float) -> np.ndarray:
    """The composite's weight of the repainted picture per pixel, 0..255."""
    return np.rint(alpha.astype(np.float64) * opacity).astype(np.uint32)


def composite(source: np.ndarray, repainted: np.ndarray, alpha: np.ndarray, opacity: float) -> np.ndarray:
    """``source`` with ``repainted`` blended in by alpha × opacity, in integers: alpha 0 → source exactly."""
    weight = _weight(alpha, opacity)[..., None]
    blended = (source.astype(np.uint32) * (255 - weight) + repainted.astype(np.uint32) * weight + 127) // 255
    return blended.astype(np.uint8)


@dataclass(frozen=True)
class Prepared:
    """What the model needs for one source, and what the composite needs afterwards."""

    init: Image.Image  # the crop, pre-filled, at the working size
    model_mask: Image.Image  # L, white = repaint, at the working size
    alpha: np.ndarray  # uint8, the crop's feathered composite mask
    repaint: np.ndarray  # bool, the crop's pixels the model repaints (alpha > 0)
    crop: Image.Image  # the untouched crop (colour-matching reference)
    rect: Rect
    size: tuple[int, int]  # the working size


def prepare(
    source: Image.Image, mask: np.ndarray | None, rect: Rect, *, work: tuple[int, int], blur: float, fill: str, seed: int
) -> Prepared:
    """Cut the rectangle, feather its mask, pre-fill and scale it for the model."""
    x, y, w, h = rect
    crop = source.crop((x, y, x + w, y + h))
    hard = np.ones((h, w), bool) if mask is None else mask[y : y + h, x : x + w]
    alpha = fade_at_cut_edges(feather(hard, blur), rect, source.size, max(4, feather_reach(blur)))
    repaint = alpha > 0
    init = fill_masked(crop, repaint, fill, seed=seed).resize(work, Image.Resampling.LANCZOS)
    # Nearest keeps the model's mask binary; it covers every pixel the composite will show.
    model_mask = Image.fromarray(np.where(repaint, 255, 0).astype(np.uint8), "L").resize(work, Image.Resampling.NEAREST)
    return Prepared(init=init, model_mask=model_mask, alpha=alpha, repaint=repaint, crop=crop, rect=rect, size=work)


def _mark_alpha(prepared: Prepared, opacity: float) -> np.ndarray:
    """The feathered mask (crop pixels) where the composite changes a pixel, 0 elsewhere: the mark
    goes in at full strength whatever the opacity, and never where the source is kept."""
    return np.where(_weight(prepared.alpha, opacity) > 0, prepared.alpha, 0).astype(np.uint8)


def mark_box(prepared: Prepared, opacity: float) -> Rect | None:
    """Where a retouch carries the invisible watermark (source pixels): the bounding box of the
    pixels it changes, or None when that box is under ``watermark.MIN_AREA`` or less than
    ``MIN_MARK_COVERAGE`` of it is fully repainted (the mark would not read back; the picture is
    then marked by its XMP and C2PA only)."""
    alpha = _mark_alpha(prepared, opacity)
    box = bounding_box(alpha > 0)
    if box is None:
        return None
    x, y = prepared.rect[0], prepared.rect[1]
    # Its corner on the picture's 16-pixel grid (inside the rectangle): the mark's 8x8 blocks then
    # sit in JPEG's chroma blocks as a whole picture's do, and survive the JPEG a promotion makes.
    left, top = -(-(x + box[0]) // MARK_GRID) * MARK_GRID, -(-(y + box[1]) // MARK_GRID) * MARK_GRID
    width, height = x + box[0] + box[2] - left, y + box[1] + box[3] - top
    if width * height < watermark.MIN_AREA:
        return None
    if (alpha[top - y : top - y + height, left - x : left - x + width] == 255).mean() < MIN_MARK_COVERAGE:
        return None
    return left, top, width, height


def finish(
    source: Image.Image,
    painted: Image.Image,
    prepared: Prepared,
    *,
    opacity: float,
    color_match: bool,
    ring_width: int,
    mark: Rect | None = None,
) -> Image.Image:
    """Scale the model's picture back, colour-match it and composite it into a copy of the source.

    ``mark`` (a ``mark_box``): the watermark is embedded over that box of the result and composited
    back through the feathered mask, so it too changes only repainted pixels."""
    x, y, w, h = prepared.rect
    back = np.asarray(painted.convert("RGB").resize((w, h), Image.Resampling.LANCZOS))
    crop = np.asarray(prepared.crop)
    if color_match:
        back = match_colors(back, crop, ring(prepared.repaint, ring_width))
    result = np.array(source.convert("RGB"))
    result[y : y + h, x : x + w] = composite(crop, back, prepared.alpha, opacity)
    if mark is not None:
        left, top, width, height = mark
        region = result[top : top + height, left : left + width]
        marked = np.asarray(watermark.embed(Image.fromarray(region, "RGB")))
        alpha = _mark_alpha(prepared, opacity)[top - y : top - y + height, left - x : left - x + width]
        region[...] = composite(region, marked, alpha, 1.0)
    return Image.fromarray(result, "RGB")


def encode_png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()
