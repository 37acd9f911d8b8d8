"""Celery tasks: thin wrappers over recommend.training."""

import logging

from celery import shared_task

from recommend import training

log = logging.getLogger(__name__)


@shared_task(name="recommend.tasks.rebuild_model", ignore_result=True, acks_late=False)
def rebuild_model() -> int | None:
    """Periodic full rebuild (CELERY_BEAT_SCHEDULE). A run that finds another in progress skips."""
    try:
        return training.rebuild().pk
    except training.RebuildBusy:
        log.info("recommender rebuild skipped: another is running")
        return None
