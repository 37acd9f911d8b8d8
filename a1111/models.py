from django.db import models
from django.utils.translation import gettext_lazy as _


class PromptStyle(models.Model):
    """A1111 styles, editable in the admin: ``{prompt}`` in ``prompt`` is replaced by the request's
    prompt, else the style's text is appended after a comma (A1111's rule); the same for negatives."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    prompt = models.TextField(blank=True, default="", verbose_name=_("prompt"))
    negative_prompt = models.TextField(blank=True, default="", verbose_name=_("negative prompt"))

    class Meta:
        verbose_name = _("prompt style")
        verbose_name_plural = _("prompt styles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SavedOption(models.Model):
    """An A1111 option set through ``POST /sdapi/v1/options`` that this server honours and keeps
    (a1111.steps: ``img2img_fix_steps``); the others are the library's or settings."""

    name = models.CharField(max_length=100, unique=True)
    value = models.JSONField()

    class Meta:
        verbose_name = _("saved A1111 option")
        verbose_name_plural = _("saved A1111 options")

    def __str__(self) -> str:
        return f"{self.name} = {self.value!r}"
