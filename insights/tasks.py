"""Celery beat task: refresh the insights rollups (CELERY_BEAT_SCHEDULE, INSIGHTS_REFRESH_MINUTES)."""

import logging

from celery import shared_task

from infra import periodic
from insights import services

log = logging.getLogger(__name__)


@shared_task(name="insights.tasks.refresh_rollups", ignore_result=True, acks_late=False)
@periodic.recorded("insights.tasks.refresh_rollups")
def refresh_rollups() -> str | None:
    """Recompute the recent days' rollups. A run that finds another in progress skips."""
    try:
        return services.refresh_rollups().computed_until.isoformat()
    except services.RefreshBusy:
        log.info("insights refresh skipped: another is running")
        return None
