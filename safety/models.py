from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garden.models import Image
from safety.terms import normalize


class Term(models.Model):
    """A curator's word for prompt screening: blocked (on top of the shipped lists) or an allowed exception.

    Allowed exceptions are phrases that contain a blocked word but are fine in a garden ("bare
    trees", "blood-orange sky"): the screen blanks them out before it looks for blocked words.
    """

    class Kind(models.TextChoices):
        BLOCKED = "blocked", _("Blocked term")
        ALLOWED = "allowed", _("Allowed exception")

    text = models.CharField(max_length=100, help_text="A word or phrase; matched case-insensitively")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    note = models.CharField(max_length=200, blank=True, default="", help_text="Why it is here")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["kind", "text"]
        constraints = [models.UniqueConstraint(fields=["text", "kind"], name="safety_term_unique")]

    def __str__(self) -> str:
        return f"{self.text} ({self.get_kind_display().lower()})"

    def save(self, *args, **kwargs) -> None:
        self.text = normalize(self.text).strip()
        super().save(*args, **kwargs)


class Release(models.Model):
    """A curator let a flagged picture out of quarantine: who, why, and what the check had said."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="safety_releases")
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()
    verdict = models.CharField(max_length=16)
    score = models.FloatField(null=True, blank=True)
    checker = models.CharField(max_length=100, blank=True, default="")
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-released_at"]

    def __str__(self) -> str:
        return f"{self.image} released by {self.released_by} at {self.released_at:%Y-%m-%d %H:%M}"
