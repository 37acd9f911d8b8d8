"""The pull prototype's worker for bench/library_routing.py (``--order pull``; issue 89): the app's
own worker (``celery -A bench._pull_worker worker``), whose message claims the job the worker
paints best now (bench._pull.claim_next) instead of the job the message names.

A bench hook, not the app's: the claim the worker's entry point makes (``lifecycle.claim_job``, as
generation.worker.runner.execute_job calls it) is wrapped in each pool process, so the measured path is
the app's own in every other step. BENCH_PULL_AGE_LIMIT: seconds before a cold model's job goes
first (default 30).
"""

from __future__ import annotations

import os

from celery.signals import worker_process_init

from config.celery import app  # noqa: F401 (the worker's app)

AGE_LIMIT = float(os.environ.get("BENCH_PULL_AGE_LIMIT", "30"))


@worker_process_init.connect
def _claim_by_pull(**_kwargs) -> None:
    from bench import _pull as pull
    from generation import backends
    from generation.worker import lifecycle

    claim_one = lifecycle.claim_job

    def claim_pulled(*, job_id, worker: str = ""):
        mine = frozenset(backends.loaded_pipelines.loaded_names())
        return pull.claim_next(job_id=job_id, worker=worker, mine=mine, claim=claim_one, age_limit=AGE_LIMIT)

    lifecycle.claim_job = claim_pulled
