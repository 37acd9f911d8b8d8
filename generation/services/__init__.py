"""Generation services, by role:

- ``jobs``: create, cancel, retry (a job's life on a worker, its claim, success, requeue and failure:
  generation.worker.lifecycle);
- ``demo``: the procedural demo garden, stored outside jobs.

Jobs of the kinds that apps above register (``generation.kinds``) are created by those apps'
services and painted by their runners; the lifecycle (generation.worker) is the same for every kind.
Which images a job makes is generation.planning (pure), re-exported here.

Every job parameter, default and bound is in ``generation.requests.JobRequest``. The names below
are the package's public API; callers may also import a module directly. What a worker does with a
job (claim, run, requeue, sweep) is generation.worker's, not re-exported here: services > worker.
"""

from generation.planning import ImageSpec, image_key, job_batches, plan_batches, plan_images
from generation.requests import JobParameterError, JobRequest, compose_prompt
from generation.services.demo import paint_procedural_image
from generation.services.jobs import JobStateError, cancel_job, create_job, create_valid_job, retry_job

__all__ = [
    "ImageSpec",
    "JobParameterError",
    "JobRequest",
    "JobStateError",
    "cancel_job",
    "compose_prompt",
    "create_job",
    "create_valid_job",
    "image_key",
    "job_batches",
    "paint_procedural_image",
    "plan_batches",
    "plan_images",
    "retry_job",
]
