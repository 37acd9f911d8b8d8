"""Reads for generation jobs."""

from __future__ import annotations

import time

from django.db.models import Q, QuerySet

from garden.keys import LANDSCAPE, parse_key
from garden.selectors import image_url
from generation.models import GenerationJob


def jobs_visible_to(*, user) -> QuerySet[GenerationJob]:
    """Staff see every job; everyone else (API-token users) only their own."""
    jobs = GenerationJob.objects.select_related("created_by")
    if getattr(user, "is_staff", False):
        return jobs
    return jobs.filter(created_by=user) if getattr(user, "is_authenticated", False) else jobs.none()


def job_queue_position(job: GenerationJob) -> int | None:
    """1 = the next job its queue will start; None when the job is not waiting."""
    if job.status != GenerationJob.Status.QUEUED:
        return None
    ahead = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, queue=job.queue).filter(
        Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, id__lt=job.id)
    )
    return ahead.count() + 1


def job_images(job: GenerationJob):
    """The pool images a job made, in plan order (index, landscape before portrait)."""
    return sorted(job.images.all(), key=lambda image: (parse_key(image.key).index, image.orientation != LANDSCAPE))


def job_result(job: GenerationJob, *, request=None) -> list[dict]:
    return [
        {
            "key": image.key,
            "url": image_url(image.key, request=request),
            "width": image.width,
            "height": image.height,
            "orientation": image.orientation,
            "seed": image.seed,
        }
        for image in job_images(job)
    ]


def wait_for_job(*, job: GenerationJob, timeout: float, poll: float = 0.2) -> GenerationJob:
    """Re-read the job until it finishes or ``timeout`` seconds pass (the legacy sync endpoint)."""
    deadline = time.monotonic() + timeout
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        job.refresh_from_db()
    return job
