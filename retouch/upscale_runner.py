"""The worker side of an upscale job (retouch.upscale): read the upload, upscale it, check, mark and store it.

Called by ``generation.worker.runner.execute_job`` (claim, lease, cancellation and failure handling
are every job's). The result is a pool Image (a lossless PNG) with the upscaler and sizes in its
EXIF and on its row, the invisible watermark over the whole picture (every pixel is the model's)
and the upscale kind's IPTC source type (an edit of a picture). A retried attempt that finds the
picture stored does nothing more.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone
from PIL import Image as PILImage

from garden import keys
from garden.models import Image
from garden.services import create_image
from generation import planning
from generation.imagefile import as_rgb, encode_png
from generation.models import GenerationJob
from generation.planning import ImageSpec
from generation.worker.attempt import Attempt
from generation.worker.toolbox import StepReporter, fetch_reporter, library_errors, make_thumbnail
from library import cache as library_cache
from library import selectors as library
from provenance import c2pa
from retouch import imaging
from retouch.uploads import read_upload
from retouch.upscale import RESAMPLERS
from safety import images as safety_images

GENERATOR = "upscaler"


def upscale_all(*, job: GenerationJob, attempt: Attempt, timings: dict) -> None:
    """Upscale and store the job's one picture, writing its row only through its ``attempt``."""
    from generation.backends import loading, upscalers  # torch: worker processes only

    options = job.retouch_job.options
    spec = ImageSpec(0, keys.PORTRAIT if job.height > job.width else keys.LANDSCAPE, job.width, job.height, job.seed)
    if job.images.filter(key=planning.image_key(job=job, spec=spec)).exists():  # stored by an earlier attempt
        return
    on_step = StepReporter(attempt, steps=1)
    on_step(0)  # a cancel check before any work
    name, path = options["upscaler"], ""
    if name not in RESAMPLERS:
        started = time.perf_counter()
        with library_errors():  # a store away is a wait, an entry gone fails the job naming it
            entry = library.resolve_upscaler(name)
            path = str(library_cache.local_path(entry, progress=fetch_reporter(job, entry.name)))
        timings["load"] = round(time.perf_counter() - started, 3)
    content = read_upload(job.retouch_job.uploads["source"])
    rgb, alpha = as_rgb(imaging.open_image(content, max_pixels=settings.GARDEN_RETOUCH_MAX_PIXELS))
    started = time.perf_counter()
    import torch

    device = loading.pick_device(torch, settings.GARDEN_DIFFUSION_DEVICE)
    done = upscalers.upscale(rgb, job.width, job.height, upscaler=name, path=path, device=device)
    if alpha is not None:  # transparency kept, resampled to the new size
        done.putalpha(alpha.resize(done.size, PILImage.Resampling.LANCZOS))
    timings["generate"] = round(time.perf_counter() - started, 3)
    on_step(1)
    started = time.perf_counter()
    image, stored = store_upscaled_image(job=job, spec=spec, picture=done, ingredient=content if c2pa.configured() is not None else None)
    made = time.perf_counter()
    make_thumbnail(image=image, content=stored)
    timings["store"], timings["thumbnails"] = round(made - started, 3), round(time.perf_counter() - made, 3)
    job.images.add(image)
    attempt.note(images_done=job.images.count(), progress_at=timezone.now())


def upscale_parameters(job: GenerationJob) -> dict:
    """What the file's EXIF and the Image row keep: enough to make the picture again."""
    options = job.retouch_job.options
    return {
        "kind": job.kind,
        "generator": GENERATOR,
        "model": options["upscaler"],  # the XMP's and C2PA's model: the upscaler (a library name or a resampler)
        "model_id": options["upscaler"],
        "upscaler": options["upscaler"],
        "source_size": options["source_size"],
        "width": job.width,
        "height": job.height,
        "job": str(job.pk),
        "index": 0,
        "source": "upload",
        **({"origin": job.options["origin"]} if "origin" in (job.options or {}) else {}),  # an API client's (generation.requests.ORIGINS)
    }


def store_upscaled_image(
    *, job: GenerationJob, spec: ImageSpec, picture: PILImage.Image, ingredient: bytes | None
) -> tuple[Image, bytes | None]:
    """Store the upscaled picture, checked before it is usable; ``ingredient``: the upload's bytes,
    the C2PA manifest's parent ingredient when signing is configured."""
    key = planning.image_key(job=job, spec=spec)
    existing = Image.objects.with_key(key).first()
    if existing is not None:  # written by an attempt that lost its lease after storing it
        return existing, None
    verdict = safety_images.check_picture(picture)
    parameters = upscale_parameters(job)
    content = encode_png(picture, parameters, ingredient=ingredient)  # the watermark as GARDEN_PROVENANCE_WATERMARK says
    image = create_image(
        key=key,
        content=content,
        width=picture.width,
        height=picture.height,
        prompt=job.prompt,
        negative_prompt="",
        generator=GENERATOR,
        model_id=parameters["model_id"],
        parameters=parameters,
        **verdict.image_fields(),
    )
    return image, content
