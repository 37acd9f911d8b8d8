"""Celery tasks: thin wrappers over recommend.training and recommend.retention."""

import logging

from celery import shared_task

from infra import periodic
from recommend import retention, training

log = logging.getLogger(__name__)


@shared_task(name="recommend.tasks.rebuild_model", ignore_result=True, acks_late=False)
@periodic.recorded("recommend.tasks.rebuild_model")
def rebuild_model() -> int | None:
    """Periodic full rebuild (CELERY_BEAT_SCHEDULE). A run that finds another in progress skips."""
    try:
        return training.rebuild().pk
    except training.RebuildBusy:
        log.info("recommender rebuild skipped: another is running")
        return None


@shared_task(name="recommend.tasks.apply_retention", ignore_result=True, acks_late=False)
@periodic.recorded("recommend.tasks.apply_retention")
def apply_retention() -> dict | None:
    """Daily (CELERY_BEAT_SCHEDULE): delete visitor data past its retention period."""
    try:
        return retention.apply_retention().as_dict()
    except training.RebuildBusy:
        log.info("retention skipped: a rebuild is running; the next run catches up")
        return None
