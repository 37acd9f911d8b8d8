from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from garden.models import Emotion


class DisplayZone(models.Model):
    """One group of edge screens: the serving images copied to its fixed keys ``display/<zone>/…``.

    ``landscape`` and ``portrait`` list the source keys in slot order (slot 1 first) as they were
    when copied; the files under ``display/<zone>/`` are copies, so they stay on the screens even
    if a source is later demoted. ``version`` goes up with every change: signage pages compare it.
    """

    name = models.CharField(max_length=32, unique=True, verbose_name=gettext_lazy("name"))
    landscape = models.JSONField(
        default=list, blank=True, help_text=gettext_lazy("Source keys of slots img1h…img8h"), verbose_name=gettext_lazy("landscape")
    )
    portrait = models.JSONField(
        default=list, blank=True, help_text=gettext_lazy("Source keys of slots img1v…img8v"), verbose_name=gettext_lazy("portrait")
    )
    live_emotion = models.CharField(
        max_length=16,
        choices=Emotion.choices,
        blank=True,
        default="",
        help_text=gettext_lazy("Live zone: follows the most-liked serving images of this emotion (empty: images chosen by hand)"),
        verbose_name=gettext_lazy("live emotion"),
    )
    # A language code of settings.LANGUAGES (no choices here: adding a language needs no migration).
    language = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text=gettext_lazy("The signage page's language (empty: the installation's GARDEN_LANGUAGE); a screen's ?lang= overrides it"),
        verbose_name=gettext_lazy("language"),
    )
    version = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("version"))
    updated_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("updated by"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = gettext_lazy("display zone")
        verbose_name_plural = gettext_lazy("display zones")

    def __str__(self) -> str:
        return self.name
