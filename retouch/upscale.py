"""The upscale job kind: one uploaded picture made larger (or smaller) by an upscaler, as a job.

An upscale runs on the worker like every job (queue, claim, lease, cancel, foreground priority);
its picture is checked and marked as painted pictures are (retouch.upscale_runner). It takes:

- ``upscaler``: a library upscaler by name (an ESRGAN-family model, generation.backends.upscalers)
  or the resamplers ``Lanczos`` and ``Nearest``;
- the size: ``scale`` (times the picture's size, above 0 and at most MAX_SCALE; 2 when nothing is
  given, as A1111's extras) or ``width`` and ``height`` (stretched to them), at most MAX_SCALE
  times each side and GARDEN_RETOUCH_MAX_PIXELS in all, as a1111.extras bounds its answers.

Its state is a RetouchJob row (the options and the private upload), so the retouch uploads' purge
and their storage serve it too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from garden import keys
from generation import backends
from generation.models import GenerationJob
from generation.requests import ORIGINS, JobParameterError, JobRequest, ValidJob, check_int
from generation.requests.checks import one_of
from generation.services import jobs
from library import selectors as library
from retouch import imaging
from retouch.models import RetouchJob
from retouch.services import UploadTooLarge
from retouch.uploads import delete_uploads, upload_key, write_upload

UPSCALE = "upscale"
LABEL = _("Upscale: enlarge a picture")
MAX_SCALE = 8
DEFAULT_SCALE = 2.0
RESAMPLERS = {"lanczos": "lanczos", "nearest": "nearest"}  # the name asked (any case) → generation.backends.upscalers'
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


@dataclass(frozen=True)
class UpscaleOptions:
    """An upscale's own options as asked (None: the default); ``source_size`` is read from the upload."""

    upscaler: object = None
    scale: object = None
    width: object = None
    height: object = None
    source_size: tuple[int, int] | None = None

    def validate(self, errors: dict[str, str]) -> dict:
        """The upscaler's name and the target size, or the reasons in ``errors``."""
        upscaler = _upscaler(self.upscaler, errors)
        width, height = self.source_size or (1, 1)
        size = _size(self, width, height, errors)
        return {"upscaler": upscaler, "width": size[0], "height": size[1], "source_size": [width, height]}


def _upscaler(asked, errors: dict[str, str]) -> str:
    built_in = "Lanczos, Nearest"
    if not isinstance(asked, str) or not asked.strip():
        errors["upscaler"] = gettext("upscaler must be the name of a library upscaler, or one of: %(names)s.") % {"names": built_in}
        return ""
    asked = asked.strip()
    if asked.lower() in RESAMPLERS:
        return RESAMPLERS[asked.lower()]
    try:
        return library.resolve_upscaler(asked).name
    except library.UnknownEntry as exc:
        errors["upscaler"] = f"{exc} " + gettext("Built in: %(names)s.") % {"names": built_in}
        return ""


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _size(options: UpscaleOptions, width: int, height: int, errors: dict[str, str]) -> tuple[int, int]:
    """(width, height) of the result: ``scale`` times the picture, or ``width`` x ``height``."""
    sides = (options.width, options.height)
    if options.scale is not None and any(side is not None for side in sides):
        errors["scale"] = gettext("Give scale, or width and height, not both.")
        return width, height
    if any(side is not None for side in sides):
        before = len(errors)
        for name, side, own in (("width", options.width, width), ("height", options.height, height)):
            check_int(name, side, 1, own * MAX_SCALE, errors)
        if len(errors) > before:
            return width, height
        target, field_name = (cast(int, options.width), cast(int, options.height)), "width"
    else:
        scale = DEFAULT_SCALE if options.scale is None else options.scale
        if not _number(scale) or not 0 < scale <= MAX_SCALE:
            errors["scale"] = gettext("scale must be above 0 and at most %(limit)s.") % {"limit": MAX_SCALE}
            return width, height
        target, field_name = (max(1, int(width * scale)), max(1, int(height * scale))), "scale"
    limit = settings.GARDEN_RETOUCH_MAX_PIXELS
    if target[0] * target[1] > limit:
        errors[field_name] = gettext("%(width)sx%(height)s is more than GARDEN_RETOUCH_MAX_PIXELS (%(limit)s).") % {
            "width": target[0],
            "height": target[1],
            "limit": limit,
        }
    return target


def validate_upscale(request: JobRequest, errors: dict[str, str]) -> ValidJob:
    """The hook ``JobRequest.validate`` calls for upscale jobs: every default filled in, or
    JobParameterError naming every bad field."""
    try:
        emotion, favorite = keys.parse_search_key(request.emotion.strip() or settings.GARDEN_TEXT2IMAGE_EMOTION)
    except keys.InvalidKey as exc:
        errors["emotion"] = exc.message
        emotion, favorite = "", ""
    check_int("count", request.count, 1, 1, errors)
    if request.backend not in (None, backends.DIFFUSERS):
        errors["backend"] = gettext("Upscaling needs the diffusers backend's workers.")
    for name in ("model", "sampler", "clip_skip", "init_image", "denoising_strength"):
        if getattr(request, name) not in (None, ""):
            errors[name] = gettext("Upscale jobs take no %(name)s: give upscaler and the size.") % {"name": name}
    if request.origin and request.origin not in ORIGINS:
        errors["origin"] = one_of("origin", ORIGINS)
    options = request.kind_options or UpscaleOptions()
    if not isinstance(options, UpscaleOptions):
        raise JobParameterError(fields={"kind": f"{request.kind} jobs take UpscaleOptions."})
    upscale = options.validate(errors)
    if errors:
        raise JobParameterError(fields=errors)
    return ValidJob(
        kind=request.kind,
        prompt=request.prompt.strip(),
        emotion=emotion,
        favorite=favorite,
        emotion_text="",
        others="",
        negative_prompt="",
        width=upscale["width"],
        height=upscale["height"],
        steps=1,
        guidance=0.0,
        seed=0,
        count=1,
        backend=backends.DIFFUSERS,
        kind_options=upscale,
        options={"origin": request.origin} if request.origin else {},
    )


def create_upscale_job(*, created_by=None, request: JobRequest, image: bytes | None, enqueue: bool = True) -> GenerationJob:
    """Check the picture and the request, store the picture privately, queue the job (202 for the API).

    Raises JobParameterError (400, naming each bad field) or retouch.services.UploadTooLarge (413)
    before anything is stored.
    """
    if request.kind != UPSCALE:
        raise JobParameterError(fields={"kind": f"kind must be {UPSCALE}."})
    if not image:
        raise JobParameterError(fields={"image": gettext("Give the picture to upscale (PNG, JPEG or WebP).")})
    try:
        picture = imaging.open_image(image, max_pixels=settings.GARDEN_RETOUCH_MAX_PIXELS, what="image")
    except imaging.InvalidImage as exc:
        raise (UploadTooLarge if exc.too_large else JobParameterError)(fields={"image": exc.message}) from None
    options = cast("UpscaleOptions | None", request.kind_options) or UpscaleOptions()
    valid = replace(request, kind_options=replace(options, source_size=picture.size)).validate()
    job = jobs.new_job(valid=valid, created_by=created_by, enqueue=enqueue)
    job.model_id = valid.kind_options["upscaler"][:255]
    job.images_total, job.steps_total = 1, 1
    key = upload_key(job_id=job.pk, name=f"source.{EXTENSIONS[imaging.sniff(image) or 'png']}")
    write_upload(key=key, content=image)
    try:
        with transaction.atomic():  # the job's message goes at the commit: the worker finds both rows
            job = jobs.save_job(job=job, enqueue=enqueue)
            RetouchJob.objects.create(job=job, options=valid.kind_options, uploads={"source": key})
        return job
    except Exception:  # storage or database: nothing may be left behind
        delete_uploads([key])
        raise
