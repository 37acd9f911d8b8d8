"""Generation services, by role:

- ``jobs``: create, cancel, retry (a job's life on a worker, its claim, success, requeue and failure:
  generation.worker.lifecycle);
- ``demo``: the procedural demo garden, stored outside jobs.

Jobs of the kinds that apps above register (``generation.kinds``) are created by those apps'
services and painted by their runners; the lifecycle (generation.worker) is the same for every kind.
Which images a job makes is generation.planning (pure), re-exported here.

Every job parameter, default and bound is in ``generation.requests.JobRequest``. The names below
are the package's public API; callers may also import a module directly.
"""

from generation.planning import ImageSpec, image_key, job_batches, plan_batches, plan_images
from generation.requests import JobParameterError, JobRequest, compose_prompt
from generation.services.demo import paint_procedural_image
from generation.services.jobs import JobStateError, cancel_job, create_job, create_valid_job, retry_job
from generation.worker.lifecycle import claim_job, fail_job, requeue_job, resume_lost_job
from generation.worker.runner import execute_job
from generation.worker.storing import generation_parameters, store_generated_image
from generation.worker.sweeper import resend_lost_jobs, sweep_if_free, sweep_stale_jobs
from generation.worker.toolbox import TransientJobError, make_thumbnail

__all__ = [
    "ImageSpec",
    "JobParameterError",
    "JobRequest",
    "JobStateError",
    "TransientJobError",
    "cancel_job",
    "claim_job",
    "compose_prompt",
    "create_job",
    "create_valid_job",
    "execute_job",
    "fail_job",
    "generation_parameters",
    "image_key",
    "job_batches",
    "make_thumbnail",
    "paint_procedural_image",
    "plan_batches",
    "plan_images",
    "requeue_job",
    "resend_lost_jobs",
    "resume_lost_job",
    "retry_job",
    "store_generated_image",
    "sweep_if_free",
    "sweep_stale_jobs",
]
