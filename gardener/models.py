"""The gardener's policy (one global row, optional per-emotion overrides), its action log and the
word bank its prompt mutations draw from."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from garden.keys import FAVORITE_PARTS
from garden.models import Emotion
from garden.words import FAVORITE_NAMES
from gardener.prompts import parse_words, word_problems
from safety import prompts

# The retirement threshold must be a real doubt: below 0.5 the rule would retire average images.
PROBABILITY_VALIDATORS = [MinValueValidator(0.5), MaxValueValidator(0.9999)]


class PromotionMode(models.TextChoices):
    REVIEW = "review", _("Review (new images wait in the pool for a curator)")
    TRUSTED = "trusted", _("Trusted (new images are promoted at once; the data prunes them)")


class GardenerPolicy(models.Model):
    """The global policy: one row (pk 1), created on first read (gardener.selectors.global_policy)."""

    enabled = models.BooleanField(
        default=False, help_text=_("Off on a fresh install: the gardener does nothing until this is on"), verbose_name=_("enabled")
    )
    target_per_key = models.PositiveIntegerField(
        default=12, help_text=_("Serving images wanted per search key (emotion × favorite)"), verbose_name=_("target per key")
    )
    minimum_per_key = models.PositiveIntegerField(
        default=4, help_text=_("Retirement never takes a key below this many serving images"), verbose_name=_("minimum per key")
    )
    pool_backlog_limit = models.PositiveIntegerField(
        default=200,
        help_text=_("No new jobs while the pool plus images still being made would exceed this"),
        verbose_name=_("pool backlog limit"),
    )
    daily_image_budget = models.PositiveIntegerField(
        default=100, help_text=_("Images the gardener may have made per day (UTC)"), verbose_name=_("daily image budget")
    )
    daily_gpu_minutes = models.PositiveIntegerField(
        default=60,
        help_text=_("GPU minutes per day (UTC) its diffusers jobs may use, counted from the jobs' timings"),
        verbose_name=_("daily gpu minutes"),
    )
    promotion_mode = models.CharField(
        max_length=16, choices=PromotionMode.choices, default=PromotionMode.REVIEW, verbose_name=_("promotion mode")
    )
    retire_min_impressions = models.PositiveIntegerField(
        default=50, help_text=_("An image is judged only after this many impressions"), verbose_name=_("retire min impressions")
    )
    retire_probability = models.FloatField(
        default=0.95,
        validators=PROBABILITY_VALIDATORS,
        help_text=_("Retire when P(like-rate < the key's median) is at least this"),
        verbose_name=_("retire probability"),
    )
    bred_share = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Share of new images bred from liked parents rather than fresh (procedural backend; 0 = all fresh)"),
        verbose_name=_("bred share"),
    )
    trial_pairs = models.PositiveIntegerField(
        default=4,
        help_text=_(
            "Bred pairs a key may hold above its target while visitors judge them; while a key is above its target, "
            "its weakest judged pictures (below the key's median) are retired to make room. 4 learned fastest in the "
            "simulation (0 = off)"
        ),
        verbose_name=_("trial pairs"),
    )
    images_per_job = models.PositiveIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text=_("Landscape + portrait pairs per job (a job makes twice this many images)"),
        verbose_name=_("images per job"),
    )
    # The demo's policy (make run: tend_garden --demo made it); cleared when a curator saves it or when a
    # real model is configured (gardener.services.leave_demo), so only the demo's trusted mode is changed.
    set_by_demo = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("gardener policy")
        verbose_name_plural = _("gardener policy")

    def __str__(self) -> str:
        return gettext("Gardener policy (global)")

    def clean(self) -> None:
        if self.minimum_per_key > self.target_per_key:
            raise ValidationError({"minimum_per_key": "The minimum cannot be above the target."})


class EmotionPolicy(models.Model):
    """Per-emotion overrides: an empty field inherits the global policy's value."""

    emotion = models.CharField(max_length=16, choices=Emotion.choices, unique=True, verbose_name=_("emotion"))
    enabled = models.BooleanField(null=True, blank=True, help_text=_("Empty: as the global policy"), verbose_name=_("enabled"))
    target_per_key = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("target per key"))
    minimum_per_key = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("minimum per key"))
    promotion_mode = models.CharField(
        max_length=16, choices=PromotionMode.choices, blank=True, default="", verbose_name=_("promotion mode")
    )
    retire_min_impressions = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("retire min impressions"))
    retire_probability = models.FloatField(null=True, blank=True, validators=PROBABILITY_VALIDATORS, verbose_name=_("retire probability"))

    class Meta:
        verbose_name = _("per-emotion override")
        verbose_name_plural = _("per-emotion overrides")
        ordering = ["emotion"]

    def __str__(self) -> str:
        return gettext("Gardener override for %(emotion)s") % {"emotion": self.get_emotion_display()}

    def clean(self) -> None:
        if self.minimum_per_key is not None and self.target_per_key is not None and self.minimum_per_key > self.target_per_key:
            raise ValidationError({"minimum_per_key": "The minimum cannot be above the target."})


class GardenerAction(models.Model):
    """One automatic action of the gardener, or a curator's undo of one."""

    class Kind(models.TextChoices):
        PLANNED = "planned", _("Planned a job")
        BRED = "bred", _("Bred a job (from liked parents)")
        ADDED = "added", _("Added images (job finished)")
        PROMOTED = "promoted", _("Promoted")
        RETIRED = "retired", _("Retired")
        SKIPPED_BUDGET = "skipped_budget", _("Skipped (budget or backlog)")
        REFUSED = "refused", _("Refused a job (prompt screening, parameters)")
        UNDONE = "undone", _("Undone")

    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    image = models.ForeignKey(
        "garden.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="gardener_actions", verbose_name=_("image")
    )
    job = models.ForeignKey(
        "generation.GenerationJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="gardener_actions", verbose_name=_("job")
    )
    search_key = models.CharField(max_length=120, blank=True, default="", verbose_name=_("search key"))
    reason = models.CharField(max_length=300, blank=True, default="", verbose_name=_("reason"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    # An undo points at the action it undid; the undone action carries when and by whom.
    undoes = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undos", verbose_name=_("undoes"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    undone_at = models.DateTimeField(null=True, blank=True, verbose_name=_("undone at"))
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("undone by")
    )

    class Meta:
        verbose_name = _("gardener action")
        verbose_name_plural = _("gardener actions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="gardener_action_kind_idx")]

    def __str__(self) -> str:
        if self.image_id:
            target = gettext("image %(id)s") % {"id": self.image_id}
        else:
            target = gettext("job %(id)s") % {"id": str(self.job_id)[:8]} if self.job_id else self.search_key
        return f"{self.get_kind_display()}: {target}"


# The kiosk favorite's words (season, weather, time), grouped as the kiosk's picker groups them.
FAVORITE_WORD_CHOICES = [(part.title(), [(word, word) for word in words]) for part, words in FAVORITE_PARTS]


class WordBank(models.Model):
    """Words a diffusers child's prompt may gain (gardener.prompts): one row per emotion and
    favorite word; a key (emotion, favorite) draws from every row that matches it."""

    emotion = models.CharField(
        max_length=16, choices=Emotion.choices, blank=True, default="", help_text=_("Empty: every emotion"), verbose_name=_("emotion")
    )
    favorite = models.CharField(
        max_length=32,
        choices=FAVORITE_WORD_CHOICES,
        blank=True,
        default="",
        help_text=_("A season, weather or time of the kiosk's favorite: keys whose favorite has it. Empty: every favorite, and none"),
        verbose_name=_("favorite"),
    )
    words = models.TextField(
        help_text=_("Words or short phrases a child's prompt may gain, separated by commas or new lines"), verbose_name=_("words")
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("word bank")
        verbose_name_plural = _("word bank")
        ordering = ["emotion", "favorite"]
        constraints = [models.UniqueConstraint(fields=["emotion", "favorite"], name="gardener_wordbank_emotion_favorite")]

    def __str__(self) -> str:
        words = {
            "emotion": self.get_emotion_display() or gettext("every emotion"),
            "favorite": str(FAVORITE_NAMES.get(self.favorite, self.favorite)) or gettext("every favorite"),
        }
        return gettext("Words for %(emotion)s · %(favorite)s") % words

    def word_list(self) -> list[str]:
        return parse_words(self.words)

    def clean(self) -> None:
        words = self.word_list()
        problems = word_problems(words)
        # A bred prompt gains these words: one holding a blocked term would only get its job refused.
        problems += [f"{word!r} {message}" for word in words if (message := prompts.refusal(word))]
        if problems:
            raise ValidationError({"words": problems})
