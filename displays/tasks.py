"""Celery tasks: thin wrappers over displays.services."""

from celery import shared_task

from displays import services
from infra import periodic


@shared_task(name="displays.tasks.refresh_live_zones", ignore_result=True)
@periodic.recorded("displays.tasks.refresh_live_zones")
def refresh_live_zones() -> list[str]:
    """Periodic (CELERY_BEAT_SCHEDULE): live zones follow the most-liked images of their emotion."""
    return services.refresh_live_zones()
