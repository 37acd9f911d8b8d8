"""Screens: the kiosk and signage pages an operator enrolled, what their heartbeats said, and the
commands sent to them (docs/fleet.md).

A screen's status (ok, warning, silent, unenrolled) is never stored: ``screens.status`` derives it
from the last beat whenever it is read, so "silent" is checked continuously, not by a timer.
No field holds visitor data: a beat carries the page's own state only (docs/privacy.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy, pgettext_lazy


class Screen(models.Model):
    """One device showing a kiosk or signage page.

    Enrolled: an operator created it and a device opened its enrolment link once; the device then
    signs its beats with a secret derived from ``key_salt`` (screens.signing; the secret itself is
    stored nowhere). Unenrolled rows are pages that beat without an identity (``anonymous_id``),
    or screens whose link nobody has opened yet.
    """

    class Kind(models.TextChoices):
        KIOSK = "kiosk", pgettext_lazy("screen kind", "kiosk")
        SIGNAGE = "signage", pgettext_lazy("screen kind", "signage")

    name = models.CharField(gettext_lazy("name"), max_length=64, blank=True)
    location = models.CharField(gettext_lazy("location"), max_length=100, blank=True)
    kind = models.CharField(gettext_lazy("kind"), max_length=16, choices=Kind.choices, default=Kind.KIOSK)
    zone = models.CharField(
        gettext_lazy("display zone"),
        max_length=32,
        blank=True,
        help_text=gettext_lazy("Signage screens: the display zone the page shows (its page is /display/<zone>/)."),
    )
    # Enrolment: the link's token is derived from this nonce (screens.signing); "" = no link open.
    enrol_nonce = models.CharField(max_length=32, blank=True, editable=False, verbose_name=gettext_lazy("enrol nonce"))
    enrol_expires_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=gettext_lazy("enrol expires at"))
    # The device secret is HMAC(SECRET_KEY, id, key_salt): a new enrolment changes the salt.
    key_salt = models.CharField(max_length=32, blank=True, editable=False, verbose_name=gettext_lazy("key salt"))
    enrolled_at = models.DateTimeField(gettext_lazy("enrolled"), null=True, blank=True, editable=False)
    # A page that beats without an identity: the random id it keeps in its localStorage.
    anonymous_id = models.CharField(max_length=36, blank=True, editable=False, verbose_name=gettext_lazy("anonymous id"))
    maintenance = models.BooleanField(gettext_lazy("maintenance screen"), default=False, editable=False)

    last_beat_at = models.DateTimeField(gettext_lazy("last seen"), null=True, blank=True, editable=False)
    last_ts = models.BigIntegerField(
        default=0, editable=False, verbose_name=gettext_lazy("last ts")
    )  # the last accepted beat's own time (ms): no replays
    interval = models.FloatField(
        default=15.0, editable=False, verbose_name=gettext_lazy("interval")
    )  # seconds between the page's beats, as it reported
    last_beat = models.JSONField(
        default=dict, blank=True, editable=False, verbose_name=gettext_lazy("last beat")
    )  # the last beat's validated fields
    # Visitors served today: the page counts since it loaded; a new load starts its count again.
    load_id = models.CharField(max_length=32, blank=True, editable=False, verbose_name=gettext_lazy("load id"))
    load_visitors = models.PositiveIntegerField(default=0, editable=False, verbose_name=gettext_lazy("load visitors"))
    visitors_day = models.DateField(null=True, blank=True, editable=False, verbose_name=gettext_lazy("visitors day"))
    visitors_today = models.PositiveIntegerField(gettext_lazy("visitors today"), default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = gettext_lazy("screen")
        verbose_name_plural = gettext_lazy("screens")
        permissions = [("command_screen", "Can send commands to screens")]
        constraints = [
            models.UniqueConstraint(fields=["anonymous_id"], condition=~Q(anonymous_id=""), name="screens_unique_anonymous_id"),
        ]

    def __str__(self) -> str:
        if self.name:
            return self.name
        return f"{self.get_kind_display()} {self.anonymous_id[:8] or self.pk}"

    @property
    def enrolled(self) -> bool:
        return bool(self.key_salt)


class Beat(models.Model):
    """One heartbeat as it arrived (validated fields only); the newest SCREENS_BEATS_KEPT per screen are kept."""

    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="beats")
    at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["screen", "-id"], name="screens_beat_screen_newest")]

    def __str__(self) -> str:
        return f"{self.screen_id} @ {self.at:%Y-%m-%d %H:%M:%S}"


class ScreenCommand(models.Model):
    """An operator's command to one enrolled screen: delivered with a beat's answer, acknowledged by the page."""

    class Kind(models.TextChoices):
        RELOAD = "reload", pgettext_lazy("screen command", "reload")
        START_OVER = "start_over", pgettext_lazy("screen command", "start over")
        LANGUAGE = "language", pgettext_lazy("screen command", "switch language")
        MAINTENANCE_ON = "maintenance_on", pgettext_lazy("screen command", "maintenance screen on")
        MAINTENANCE_OFF = "maintenance_off", pgettext_lazy("screen command", "maintenance screen off")

    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="commands", verbose_name=gettext_lazy("screen"))
    kind = models.CharField(gettext_lazy("command"), max_length=32, choices=Kind.choices)
    argument = models.CharField(gettext_lazy("argument"), max_length=16, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=gettext_lazy("issued by")
    )
    issued_at = models.DateTimeField(gettext_lazy("given"))
    delivered_at = models.DateTimeField(gettext_lazy("delivered"), null=True, blank=True)
    acked_at = models.DateTimeField(gettext_lazy("acknowledged"), null=True, blank=True)
    ok = models.BooleanField(null=True, verbose_name=gettext_lazy("ok"))
    detail = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("detail"))

    class Meta:
        ordering = ["-pk"]
        verbose_name = gettext_lazy("screen command")
        verbose_name_plural = gettext_lazy("screen commands")
        indexes = [models.Index(fields=["screen", "acked_at"], name="screens_command_pending")]

    def __str__(self) -> str:
        text = self.get_kind_display()
        return f"{text} {self.argument}" if self.argument else str(text)
