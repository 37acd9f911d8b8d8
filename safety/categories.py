"""The categories a prompt is screened for, most severe first (a refusal names the first found)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    # Order matters: when a prompt holds terms of several categories, the refusal names the first.
    MINORS = "minors", _("minors in a sexual context")
    SEXUAL = "sexual", _("nudity and sexual content")
    VIOLENCE = "violence", _("gore and violence")
    HATE = "hate", _("hate symbols and slurs")
    SELF_HARM = "self_harm", _("self-harm")
    PROFANITY = "profanity", _("profanity")


SEVERITY = {category: rank for rank, category in enumerate(Category)}
