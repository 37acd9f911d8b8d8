"""Planning a job: which images it makes, in which pipeline calls, under which keys.

Pure functions of the job's parameters (no database, no storage), so a retried attempt plans
exactly the same images and can skip the ones an earlier attempt stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from garden import keys
from generation import kinds
from generation.backends import hires
from generation.models import GenerationJob


@dataclass(frozen=True)
class ImageSpec:
    index: int
    orientation: str
    width: int
    height: int
    seed: int


def plan_images(*, kind: str, count: int, width: int, height: int, seed: int) -> list[ImageSpec]:
    """Every image a job makes, in order; image n of the plan uses seed + n."""
    if kind == GenerationJob.Kind.BULK:
        specs = []
        for index in range(count):
            specs.append(ImageSpec(index, keys.LANDSCAPE, width, height, seed + 2 * index))
            specs.append(ImageSpec(index, keys.PORTRAIT, height, width, seed + 2 * index + 1))
        return specs
    orientation = keys.PORTRAIT if height > width else keys.LANDSCAPE
    return [ImageSpec(index, orientation, width, height, seed + index) for index in range(count)]


def plan_batches(specs: list[ImageSpec], *, batch_size: int) -> list[list[ImageSpec]]:
    """Group images of the same size into pipeline calls of at most ``batch_size``, order kept."""
    by_size: dict[tuple[int, int], list[ImageSpec]] = {}
    for spec in specs:
        by_size.setdefault((spec.width, spec.height), []).append(spec)
    batch_size = max(1, batch_size)
    return [group[start : start + batch_size] for group in by_size.values() for start in range(0, len(group), batch_size)]


def call_size(job: GenerationJob, batch_size: int) -> int:
    """The pictures of one pipeline call of ``job``: a background job's calls are short, so it can
    yield between them to foreground work (generation.worker.yielding)."""
    short = settings.GARDEN_BACKGROUND_CALL_PICTURES
    return min(batch_size, short) if job.background and short > 0 else batch_size


def job_batches(job: GenerationJob) -> list[list[ImageSpec]]:
    specs = plan_images(kind=job.kind, count=job.count, width=job.width, height=job.height, seed=job.seed)
    return plan_batches(specs, batch_size=call_size(job, settings.GARDEN_DIFFUSION_BATCH_SIZE))  # background: short calls


def batch_steps(job: GenerationJob) -> int:
    """Steps each of the job's batches reports: its steps, plus a hires fix's second pass (generation.backends.hires)."""
    return hires.batch_steps(job.options, job.steps)


def image_key(*, job: GenerationJob, spec: ImageSpec) -> str:
    """In its kind's file format: JPEG, or PNG for a registered kind that edits pictures losslessly
    (their untouched pixels stay the source's, byte for byte)."""
    return keys.build_key(
        prefix=keys.POOL_PREFIX,
        emotion=job.emotion,
        favorite=job.favorite,
        timestr=job.timestr,
        index=spec.index,
        orientation=spec.orientation,
        extension=kind.extension if (kind := kinds.get(job.kind)) is not None else keys.JPEG,
    )
