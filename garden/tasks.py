"""Celery tasks of the garden app: beat's heartbeat (garden.periodic)."""

from celery import shared_task
from django.utils import timezone

from garden import periodic


@shared_task(name=periodic.BEAT_TICK, ignore_result=True, acks_late=False)
@periodic.recorded(periodic.BEAT_TICK)
def beat_tick() -> str:
    """Every minute (CELERY_BEAT_SCHEDULE): its PeriodicRun row says beat sends and a worker runs."""
    return f"tick at {timezone.now():%H:%M:%S}"
