"""Infrastructure tables: each periodic task's last run, the write requests' idempotency keys, and
the client keys SD clients log in with.

Their tables keep the names they were created under in the garden app, so existing databases keep
their rows and processes of either version read the same table while a deploy rolls.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy


class PeriodicRun(models.Model):
    """The last run of one periodic task (celery beat): when, and how it ended (infra.periodic).

    One row per task name, overwritten by each run, so the admin's system status page can say
    when retention, the insights rollup or the recommender rebuild last ran, and whether beat ticks.
    """

    name = models.CharField(primary_key=True, max_length=200, help_text=gettext_lazy("The Celery task's name"))
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, help_text=gettext_lazy("Empty while the run is going on (or if it died)"))
    ok = models.BooleanField(null=True, help_text=gettext_lazy("Empty while running; false when the task raised"))
    detail = models.TextField(blank=True, default="", help_text=gettext_lazy("What it returned, or the error"))
    last_ok_at = models.DateTimeField(null=True, blank=True, help_text=gettext_lazy("When a run last ended without an error"))

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


class ClientKey(models.Model):
    """A secret an API client sends instead of its user's password (config.auth, infra.client_keys).

    Made by staff in the admin and shown once; only its SHA-256 is kept, so it cannot be shown again.
    It acts as its user, with that user's rights, until it is revoked or the user is deactivated.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="client_keys",
        verbose_name=gettext_lazy("user"),
        help_text=gettext_lazy("The key acts as this user, with the user's rights (the API needs a staff user)."),
    )
    name = models.CharField(
        gettext_lazy("name"), max_length=100, help_text=gettext_lazy("Which client holds it, e.g. “Krita on the studio PC”.")
    )
    prefix = models.CharField(gettext_lazy("begins with"), max_length=12, editable=False)  # shown to tell keys apart
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=gettext_lazy("digest"))  # SHA-256 of the secret, hex
    created_at = models.DateTimeField(gettext_lazy("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
        verbose_name=gettext_lazy("created by"),
    )  # fmt: skip
    last_used_at = models.DateTimeField(gettext_lazy("last used"), null=True, blank=True, editable=False)  # to the minute
    revoked_at = models.DateTimeField(gettext_lazy("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = gettext_lazy("client key")
        verbose_name_plural = gettext_lazy("client keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
