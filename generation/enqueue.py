"""Sending a job's message to its Celery queue.

Services enqueue through this module and never import ``generation.tasks`` (the tasks import the
services): the task is looked up by name in the Celery app's registry, which the generation app
fills when it starts (``GenerationConfig.ready`` imports the tasks module). Looking it up, rather
than ``send_task``, keeps ``CELERY_TASK_ALWAYS_EAGER`` working.
"""

from __future__ import annotations

from celery import current_app

RUN_JOB_TASK = "generation.tasks.run_generation_job"
SWEEP_TASK = "generation.tasks.sweep_stale_jobs"


def enqueue_job(*, job_id, queue: str) -> None:
    current_app.tasks[RUN_JOB_TASK].apply_async(args=[str(job_id)], queue=queue)
