"""Celery beat task: one gardener run (CELERY_BEAT_SCHEDULE "gardener-tend", GARDEN_GARDENER_MINUTES)."""

import logging

from celery import shared_task

from gardener import services
from infra import periodic

log = logging.getLogger(__name__)


@shared_task(name="gardener.tasks.tend_garden", ignore_result=True, acks_late=False)
@periodic.recorded("gardener.tasks.tend_garden")
def tend_garden() -> str | None:
    """Tend the garden once; does nothing (and says so) while the policy is off."""
    try:
        return services.tend().summary()
    except services.Busy:
        log.info("gardener run skipped: another is going on")
        return None
