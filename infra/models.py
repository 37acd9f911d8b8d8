"""Infrastructure tables: each periodic task's last run, and the write requests' idempotency keys.

Their tables keep the names they were created under in the garden app, so existing databases keep
their rows and processes of either version read the same table while a deploy rolls.
"""

from django.db import models
from django.utils import timezone


class PeriodicRun(models.Model):
    """The last run of one periodic task (celery beat): when, and how it ended (infra.periodic).

    One row per task name, overwritten by each run, so the admin's system status page can say
    when retention, the insights rollup or the recommender rebuild last ran, and whether beat ticks.
    """

    name = models.CharField(primary_key=True, max_length=200, help_text="The Celery task's name")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the run is going on (or if it died)")
    ok = models.BooleanField(null=True, help_text="Empty while running; false when the task raised")
    detail = models.TextField(blank=True, default="", help_text="What it returned, or the error")
    last_ok_at = models.DateTimeField(null=True, blank=True, help_text="When a run last ended without an error")

    class Meta:
        db_table = "garden_periodicrun"

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """A write request's Idempotency-Key and the answer it got (infra.idempotency).

    Stored in the same transaction as the write it guards, so a write committed is a key committed:
    a retry after a lost answer finds it and gets the first answer back instead of a second write.
    """

    scope = models.CharField(max_length=200)  # the caller: "user:<pk>" or "kiosk:<visitor id>"
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and the parsed body
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True)  # null: the first request is still running
    content_type = models.CharField(max_length=200, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField(default=b"")

    class Meta:
        db_table = "garden_idempotencykey"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
