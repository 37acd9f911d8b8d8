"""The retouch parameters of a ``JobRequest``: defaults, bounds and validation, in one place.

``RetouchOptions.validate`` checks every value against the source's ``Geometry`` (its size, the
mask's bounding box, the number of frames), which the service reads from the uploads first; it
fills the defaults (the rectangle from the mask, the working size, the steps actually run) and
reports each bad field by name. The result is the JSON a retouch job stores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.utils.translation import gettext

from generation.backends import ETA_SAMPLERS
from generation.backends.diffusion import SCHEDULERS
from retouch import imaging

WORK_SIZE = 512  # the shortest side the rectangle is painted at (the original app's value)
STRENGTH = 0.6
MASK_BLUR = 4
PADDING = 32  # A1111's inpaint_full_res_padding default
OPACITY = 1.0
NOISE_MULTIPLIER = 1.0
CONTROL_SCALE = 1.0  # A1111's ControlNet weight default (diffusers' is 0.5)
REFERENCE_SCALE = 0.6
CONTROL_TYPES = ("lineart", "canny")
CONTROL_MODES = (0, 1, 2)  # A1111: balanced, my prompt is more important, ControlNet is more important
MAX_CONTROLS = 3
MAX_MASK_BLUR = 64
MAX_PADDING = 512
NOISE_RANGE = (0.0, 2.0)
SCALE_RANGE = (0.0, 2.0)
CLIP_SKIP_RANGE = (1, 12)  # A1111's CLIP_stop_at_last_layers: 1 = the text encoder's last layer


@dataclass(frozen=True, kw_only=True)
class ControlUnit:
    """One ControlNet: its edge map is detected from the source, or is the user's edited ``image``."""

    type: str
    scale: float | None = None
    start: float = 0.0
    end: float = 1.0
    mode: int = 0
    has_image: bool = False  # an edited edge map of the source's size comes with the upload
    low: float = 100.0  # Canny thresholds
    high: float = 200.0


@dataclass(frozen=True, kw_only=True)
class Reference:
    """Keep the look of a reference picture (IP-Adapter): the source itself unless one is uploaded."""

    scale: float | None = None
    has_image: bool = False


@dataclass(frozen=True)
class Geometry:
    """What the service read from the uploads, before anything was stored."""

    width: int
    height: int
    mask_box: imaging.Rect | None  # every mask's pixels (the union over frames); None: no mask
    frames: int = 0  # frames in the archive (batch jobs)


@dataclass(frozen=True, kw_only=True)
class RetouchOptions:
    image_id: int | None = None
    rect: tuple[int, int, int, int] | None = None
    padding: int | None = None
    work_size: int | None = None
    strength: float | None = None
    mask_blur: float | None = None
    opacity: float | None = None
    color_match: bool = True
    masked_content: str = "original"
    noise_multiplier: float | None = None
    invert_mask: bool = False
    sampler: str = ""
    eta: float | None = None  # DDIM's step noise (A1111's eta); None: the scheduler's own (0)
    clip_skip: int = 1
    controls: tuple[ControlUnit, ...] = ()
    reference: Reference | None = None
    frame_range: tuple[int, int] | None = None
    vary_seed: bool = False  # batches: one seed for every frame unless asked (per-frame seeds flicker)
    fixed_rect: bool = True  # batches: one rectangle for every frame unless asked (it follows each mask)
    geometry: Geometry | None = field(default=None, compare=False)

    def validate(self, errors: dict[str, str], *, steps: int, batch: bool) -> dict:
        """The options as stored on the job, defaults filled in; problems go into ``errors``."""
        geometry = self.geometry
        if geometry is None:
            errors["image"] = gettext("Give a source: an image upload or the id of a garden image.")
            return {}
        numbers = self._numbers(errors)
        rect = self._rect(errors, geometry, numbers.get("padding", PADDING), numbers.get("mask_blur", MASK_BLUR))
        work_size = numbers.get("work_size", WORK_SIZE)
        if work_size > min(settings.GARDEN_MAX_WIDTH, settings.GARDEN_MAX_HEIGHT):
            errors["work_size"] = gettext("work_size must fit GARDEN_MAX_WIDTH and GARDEN_MAX_HEIGHT.")
        longest = max(settings.GARDEN_MAX_WIDTH, settings.GARDEN_MAX_HEIGHT)
        work = imaging.working_size(rect[2], rect[3], shortest=work_size, longest_limit=longest) if rect else None
        strength = 1.0 if self.masked_content == "noise" else numbers.get("strength", STRENGTH)
        steps_run = min(int(steps * strength), steps)
        if "strength" not in errors and steps_run < 1:
            errors["strength"] = gettext("%(steps)s steps x strength %(strength)s runs no denoising step: raise steps or strength.") % {
                "steps": steps,
                "strength": f"{strength:g}",
            }
        controls = [self._control(errors, number, unit) for number, unit in enumerate(self.controls)]
        if len(self.controls) > MAX_CONTROLS:
            errors["controls"] = gettext("At most %(limit)s controls.") % {"limit": MAX_CONTROLS}
        if self.reference is not None:
            _check_range("reference.scale", self.reference.scale, SCALE_RANGE, errors)
        if (
            isinstance(self.clip_skip, bool)
            or not isinstance(self.clip_skip, int)
            or not CLIP_SKIP_RANGE[0] <= self.clip_skip <= CLIP_SKIP_RANGE[1]
        ):
            errors["clip_skip"] = gettext(
                "clip_skip must be a whole number from %(low)s to %(high)s (A1111's CLIP_stop_at_last_layers)."
            ) % {
                "low": CLIP_SKIP_RANGE[0],
                "high": CLIP_SKIP_RANGE[1],
            }
        if self.sampler and self.sampler not in SCHEDULERS:
            errors["sampler"] = _one_of("sampler", SCHEDULERS)
        if self.eta is not None and (isinstance(self.eta, bool) or not isinstance(self.eta, int | float) or not 0 <= self.eta <= 1):
            errors["eta"] = gettext("eta must be a number between 0 and 1.")
        if self.masked_content not in imaging.MASKED_CONTENT:
            errors["masked_content"] = _one_of("masked_content", imaging.MASKED_CONTENT)
        if batch:
            self._check_range_of_frames(errors, geometry.frames)
        elif self.frame_range is not None:
            errors["range"] = gettext("range is for retouch_batch jobs.")
        return {
            **numbers,
            "image_id": self.image_id,
            "source_size": [geometry.width, geometry.height],
            "rect": list(rect) if rect else None,
            "work": list(work) if work else None,
            "strength": strength,
            "requested_strength": numbers.get("strength", STRENGTH),
            "steps_run": steps_run,
            "color_match": bool(self.color_match),
            "masked_content": self.masked_content,
            "invert_mask": bool(self.invert_mask),
            "sampler": self.sampler,
            # Only DDIM's step takes it (the other samplers' eta is their own, as in A1111).
            "eta": float(self.eta) if self.eta and self.sampler in ETA_SAMPLERS else None,
            "clip_skip": self.clip_skip,
            "controls": controls,
            "reference": None
            if self.reference is None
            else {**asdict(self.reference), "scale": _or(self.reference.scale, REFERENCE_SCALE)},
            "range": list(self.frame_range) if self.frame_range else None,
            "vary_seed": bool(self.vary_seed),
            "fixed_rect": bool(self.fixed_rect),
        }

    def _numbers(self, errors: dict[str, str]) -> dict:
        values = {
            "work_size": _or(self.work_size, WORK_SIZE),
            "padding": _or(self.padding, PADDING),
            "strength": _or(self.strength, STRENGTH),
            "mask_blur": _or(self.mask_blur, MASK_BLUR),
            "opacity": _or(self.opacity, OPACITY),
            "noise_multiplier": _or(self.noise_multiplier, NOISE_MULTIPLIER),
        }
        work_size = values["work_size"]
        if isinstance(work_size, bool) or not isinstance(work_size, int) or work_size % 8 or not work_size >= settings.GARDEN_MIN_SIZE:
            errors["work_size"] = gettext("work_size must be a multiple of 8, at least %(low)s; got %(value)s.") % {
                "low": settings.GARDEN_MIN_SIZE,
                "value": repr(work_size),
            }
        if isinstance(values["padding"], bool) or not isinstance(values["padding"], int) or not 0 <= values["padding"] <= MAX_PADDING:
            errors["padding"] = gettext("padding must be a whole number of pixels between 0 and %(high)s.") % {"high": MAX_PADDING}
        strength = values["strength"]
        if not _is_number(strength) or not 0 < strength <= 1:
            errors["strength"] = gettext("strength must be a number in (0, 1]; got %(value)s.") % {"value": repr(strength)}
        _check_range("mask_blur", values["mask_blur"], (0, MAX_MASK_BLUR), errors)
        _check_range("opacity", values["opacity"], (0.0, 1.0), errors)
        _check_range("noise_multiplier", values["noise_multiplier"], NOISE_RANGE, errors)
        return {name: value for name, value in values.items() if name not in errors}

    def _rect(self, errors: dict[str, str], geometry: Geometry, padding: int, blur: float) -> imaging.Rect | None:
        size = (geometry.width, geometry.height)
        if self.rect is None:
            if geometry.mask_box is None:
                return (0, 0, *size)  # no mask: the whole picture
            # Room for the feathered edge too: the paste then never ends at the rectangle's border.
            return imaging.padded(geometry.mask_box, padding + imaging.feather_reach(blur), size)
        rect = self.rect
        if len(rect) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in rect):
            errors["rect"] = gettext("rect must be four whole numbers: x, y, width, height.")
            return None
        x, y, w, h = rect
        if w < 8 or h < 8 or x < 0 or y < 0 or x + w > geometry.width or y + h > geometry.height:
            errors["rect"] = gettext("rect %(rect)s must lie inside the %(width)sx%(height)s image, at least 8x8.") % {
                "rect": list(rect),
                "width": geometry.width,
                "height": geometry.height,
            }
            return None
        box = geometry.mask_box
        if box is not None and (box[0] >= x + w or box[1] >= y + h or box[0] + box[2] <= x or box[1] + box[3] <= y):
            errors["mask"] = gettext("The mask has nothing inside the rectangle.")
            return None
        return x, y, w, h

    def _control(self, errors: dict[str, str], number: int, unit: ControlUnit) -> dict:
        name = f"controls[{number}]"
        if unit.type not in CONTROL_TYPES:
            errors[f"{name}.type"] = _one_of("type", CONTROL_TYPES)
        scale = _or(unit.scale, CONTROL_SCALE)
        _check_range(f"{name}.scale", scale, SCALE_RANGE, errors)
        _check_range(f"{name}.start", unit.start, (0.0, 1.0), errors)
        _check_range(f"{name}.end", unit.end, (0.0, 1.0), errors)
        if _is_number(unit.start) and _is_number(unit.end) and unit.start >= unit.end:
            errors[f"{name}.end"] = gettext("end must be after start.")
        if unit.mode not in CONTROL_MODES or isinstance(unit.mode, bool):
            errors[f"{name}.mode"] = gettext("mode must be 0 (balanced), 1 (prompt matters more) or 2 (control matters more).")
        for threshold in ("low", "high"):
            _check_range(f"{name}.{threshold}", getattr(unit, threshold), (0.0, 1020.0), errors)
        return {**asdict(unit), "scale": scale}

    def _check_range_of_frames(self, errors: dict[str, str], frames: int) -> None:
        if self.frame_range is None:
            return
        first, last = self.frame_range
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (first, last)) or not 1 <= first <= last <= frames:
            errors["range"] = gettext(
                "range must be two frame positions, first ≤ last, between 1 and %(frames)s (the frames in the archive)."
            ) % {"frames": frames}


def _or(value, default):
    return default if value is None else value


def _one_of(name: str, choices) -> str:
    return gettext("%(name)s must be one of %(choices)s.") % {"name": name, "choices": ", ".join(choices)}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(name: str, value, bounds: tuple[float, float], errors: dict[str, str]) -> None:
    low, high = bounds
    if not _is_number(value) or not low <= value <= high:
        errors[name] = gettext("%(name)s must be a number between %(low)s and %(high)s; got %(value)s.") % {
            "name": name,
            "low": f"{low:g}",
            "high": f"{high:g}",
            "value": repr(value),
        }
