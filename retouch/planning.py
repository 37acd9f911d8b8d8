"""A retouch job's pipeline calls (pure: a retried attempt plans the same images and skips those
an earlier attempt stored; generation.planning does the same for text-to-image jobs)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from garden import keys
from generation.models import GenerationJob
from generation.planning import ImageSpec, plan_batches
from retouch.models import RetouchKind


@dataclass(frozen=True)
class RetouchUnit:
    """One pipeline call of a retouch job: the images it makes, and (batches) the frame it repaints."""

    specs: list[ImageSpec]
    frame: str = ""
    position: int = 0  # the frame's place in the archive's numeric order (1-based)


def retouch_units(job: GenerationJob, options: dict) -> list[RetouchUnit]:
    """A retouch's calls: ``count`` images of the source (batched), or one image per selected frame.

    Image n of a single retouch uses seed + n. Frames all use the job's seed unless ``vary_seed``
    (one seed for every frame keeps a video from flickering); a frame's index is its position.
    ``options``: the job's validated retouch options (``RetouchJob.options``).
    """
    orientation = keys.PORTRAIT if job.height > job.width else keys.LANDSCAPE
    if job.kind == RetouchKind.BATCH:
        vary = options.get("vary_seed", False)
        return [
            RetouchUnit([ImageSpec(position, orientation, job.width, job.height, job.seed + (position - 1 if vary else 0))], name, position)
            for position, name in options.get("frames", [])
        ]
    specs = [ImageSpec(index, orientation, job.width, job.height, job.seed + index) for index in range(job.count)]
    # IP-Adapter embeddings do not batch: a retouch with a reference paints one image per call.
    batch_size = 1 if options.get("reference") else settings.GARDEN_DIFFUSION_BATCH_SIZE
    return [RetouchUnit(batch) for batch in plan_batches(specs, batch_size=batch_size)]
