"""Celery tasks of the garden app: beat's heartbeat (infra.periodic), the idempotency-key sweep (infra.idempotency)."""

from celery import shared_task
from django.utils import timezone

from infra import idempotency, periodic


@shared_task(name=periodic.BEAT_TICK, ignore_result=True, acks_late=False)
@periodic.recorded(periodic.BEAT_TICK)
def beat_tick() -> str:
    """Every minute (CELERY_BEAT_SCHEDULE): its PeriodicRun row says beat sends and a worker runs."""
    return f"tick at {timezone.now():%H:%M:%S}"


@shared_task(name="garden.tasks.sweep_idempotency_keys", ignore_result=True, acks_late=False)
@periodic.recorded("garden.tasks.sweep_idempotency_keys")
def sweep_idempotency_keys() -> str:
    """Hourly (CELERY_BEAT_SCHEDULE): forget idempotency keys older than GARDEN_IDEMPOTENCY_HOURS."""
    return f"{idempotency.sweep_expired_keys()} keys swept"
