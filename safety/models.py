from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from garden.models import Image
from safety.categories import Category
from safety.normalize import fold


class Term(models.Model):
    """A curator's word for prompt screening, in a category: blocked (on top of the shipped lists in
    safety/data) or an allowed exception.

    Allowed exceptions are phrases that contain a blocked word but are fine in a garden ("bare
    trees", "blood-orange sky"): the screen blanks a category's exceptions out before it looks for
    that category's terms. A shipped term is let through by an exception that is the term itself.
    """

    class Kind(models.TextChoices):
        BLOCKED = "blocked", _("Blocked term")
        ALLOWED = "allowed", _("Allowed exception")

    text = models.CharField(
        max_length=100,
        help_text=_(
            "A word or phrase, matched after normalisation (width, case, accents, look-alike letters). "
            "Latin words match whole words and their -s/-ed/-ing forms; =word matches the word alone, stem* every word that starts with it."
        ),
        verbose_name=_("text"),
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    category = models.CharField(
        max_length=16,
        choices=Category.choices,
        help_text=_("A refusal names the category; an exception lets through that category's terms only."),
        verbose_name=_("category"),
    )
    note = models.CharField(max_length=200, blank=True, default="", help_text=_("Why it is here"), verbose_name=_("note"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["category", "kind", "text"]
        constraints = [models.UniqueConstraint(fields=["text", "kind", "category"], name="safety_term_unique")]

    def __str__(self) -> str:
        return f"{self.text} ({self.get_category_display()}, {self.get_kind_display().lower()})"

    def save(self, *args, **kwargs) -> None:
        self.text = fold(self.text)  # stored as it is matched: one spelling per term
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not fold(self.text).strip("=* "):
            raise ValidationError({"text": _("Give a word or phrase.")})


class Release(models.Model):
    """A curator let a flagged picture out of quarantine: who, why, and what the check had said."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="safety_releases", verbose_name=_("image"))
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("released by")
    )
    reason = models.TextField(verbose_name=_("reason"))
    verdict = models.CharField(max_length=16, verbose_name=_("verdict"))
    score = models.FloatField(null=True, blank=True, verbose_name=_("score"))
    checker = models.CharField(max_length=100, blank=True, default="", verbose_name=_("checker"))
    released_at = models.DateTimeField(default=timezone.now, verbose_name=_("released at"))

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-released_at"]

    def __str__(self) -> str:
        words = {"image": self.image, "user": self.released_by, "time": f"{self.released_at:%Y-%m-%d %H:%M}"}
        return gettext("%(image)s released by %(user)s at %(time)s") % words
