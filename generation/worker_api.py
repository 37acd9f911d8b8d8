"""What a runner outside generation needs to paint and store jobs: the live app's worker (live.worker).

Generation keeps the backends, the library and the bulk job path; an app above that paints some
jobs itself claims, paints, stores and finishes them through these names only, and registers its
runner here in ``AppConfig.ready()`` (generation imports nothing above it, as with
generation.kinds): ``execute_job`` (generation.services.execution) hands a claimed live job to
the registered runner when its ``takes`` says it may, and runs it alone otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generation.backends import DIFFUSERS, SAMPLERS, BackendError, Batch, TransientBackendError, get_backend
from generation.backends.hires import for_picture as hires_fix
from generation.enqueue import enqueue_job
from generation.models import GenerationJob
from generation.services.heartbeat import beating
from generation.services.init_pictures import init_picture
from generation.services.jobs import fail_job, requeue_job
from generation.services.planning import ImageSpec, job_batches
from generation.services.runner import JobStopped, ProgressThrottle, TransientJobError, claim_job, error_text, library_files
from generation.services.storing import Rendered, render_generated_image, render_on_device, save_rendered_image, stored_image
from library.selectors import embeddings_in

__all__ = [
    "DIFFUSERS",
    "SAMPLERS",
    "BackendError",
    "Batch",
    "GenerationJob",
    "ImageSpec",
    "JobStopped",
    "LiveRunner",
    "ProgressThrottle",
    "Rendered",
    "TransientBackendError",
    "TransientJobError",
    "beating",
    "claim_job",
    "embeddings_in",
    "enqueue_job",
    "error_text",
    "fail_job",
    "get_backend",
    "hires_fix",
    "init_picture",
    "job_batches",
    "library_files",
    "live_runner",
    "register_live_runner",
    "render_generated_image",
    "render_on_device",
    "requeue_job",
    "save_rendered_image",
    "stored_image",
]


@dataclass(frozen=True)
class LiveRunner:
    # Whether the claimed live job may go to ``run`` (else it runs alone, as any job).
    takes: Callable[[GenerationJob], bool]
    # run(job, worker=, heartbeat=, overlap=) → the job, finished; raises TransientJobError for a retry.
    run: Callable[..., GenerationJob]


_runner: LiveRunner | None = None


def register_live_runner(runner: LiveRunner) -> None:
    global _runner
    _runner = runner


def live_runner(job: GenerationJob) -> LiveRunner | None:
    """The registered runner for this claimed job, if it is a live job the runner takes."""
    if _runner is not None and job.live and _runner.takes(job):
        return _runner
    return None
