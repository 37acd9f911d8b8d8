from django.db import models, router
from django.db.models import Case, F, Value, When
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from garden import choices, freshness, looks
from garden.choices import CLEARED, QUARANTINED  # noqa: F401 (read from here too)
from garden.keys import EMOTIONS
from garden.queries import ImageQuerySet
from garden.visitors import MAX_LENGTH as VISITOR_ID_LENGTH
from garden.visitors import new_visitor_id, segment_of

# HAPPY = "happy", …: one member per emotion of garden.keys.EMOTIONS, in the same order.
# The admin's lists, filters and forms show the translated name (the same words as the kiosk's, capitalised).
EMOTION_LABELS = {
    "happy": pgettext_lazy("emotion", "Happy"),
    "surprised": pgettext_lazy("emotion", "Surprised"),
    "calm": pgettext_lazy("emotion", "Calm"),
    "angry": pgettext_lazy("emotion", "Angry"),
    "fear": pgettext_lazy("emotion", "Fear"),
    "confused": pgettext_lazy("emotion", "Confused"),
    "disgusted": pgettext_lazy("emotion", "Disgusted"),
    "sad": pgettext_lazy("emotion", "Sad"),
}
Emotion = models.TextChoices("Emotion", [(emotion.upper(), (emotion, EMOTION_LABELS[emotion])) for emotion in EMOTIONS])


class Image(models.Model):
    """One garden picture: its file lives in storage under ``key``."""

    # garden.choices' value sets, also reachable from the model (Image.Status.SERVING…).
    Status = choices.Status
    Orientation = choices.Orientation
    Safety = choices.Verdict

    key = models.CharField(_("key"), max_length=512, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.POOL)
    emotion = models.CharField(_("emotion"), max_length=16, choices=Emotion.choices)
    favorite = models.CharField(_("favorite"), max_length=100, blank=True, default="")
    # Derived in the database from emotion and favorite, so it can never disagree with them.
    search_key = models.GeneratedField(
        expression=Case(
            When(favorite="", then=F("emotion")),
            default=Concat(F("emotion"), Value("/"), F("favorite")),
        ),
        output_field=models.CharField(max_length=120),
        # No verbose_name: any change to a generated column rebuilds the image table on SQLite
        # (and fires the catalog triggers); the image pages do not show it.
        db_persist=True,
    )
    orientation = models.CharField(_("orientation"), max_length=1, choices=Orientation.choices)
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    prompt = models.TextField(blank=True, default="", verbose_name=_("prompt"))
    negative_prompt = models.TextField(blank=True, default="", verbose_name=_("negative prompt"))
    seed = models.BigIntegerField(_("seed"), null=True, blank=True)
    generator = models.CharField(_("generator"), max_length=32, blank=True, default="", help_text=_("procedural, diffusers, imported…"))
    model_id = models.CharField(_("model"), max_length=255, blank=True, default="")
    steps = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("steps"))
    guidance = models.FloatField(null=True, blank=True, verbose_name=_("guidance"))
    # A retouched picture points at the garden image it was repainted from (none for uploads), and
    # keeps every parameter it was made with (the same JSON its file carries in EXIF).
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retouches", verbose_name=_("source"))
    parameters = models.JSONField(
        default=dict, blank=True, help_text=_("How it was made (also in the file's EXIF)"), verbose_name=_("parameters")
    )
    byte_size = models.PositiveBigIntegerField(default=0, verbose_name=_("byte size"))
    content_hash = models.CharField(
        max_length=64, blank=True, default="", help_text=_("SHA-256 of the file"), verbose_name=_("content hash")
    )
    thumbnail_key = models.CharField(max_length=512, blank=True, default="", verbose_name=_("thumbnail key"))
    kept = models.BooleanField(_("kept"), default=False, help_text=_("Marked as a keeper during review"))
    # The image check's verdict (safety.images); a flagged picture is quarantined until a curator
    # releases it (safety.services): never served, never bred from, never promoted.
    safety_verdict = models.CharField(max_length=16, choices=Safety.choices, default=Safety.UNCHECKED, verbose_name=_("safety verdict"))
    safety_score = models.FloatField(
        null=True, blank=True, help_text=_("The classifier's nudity score (0…1)"), verbose_name=_("safety score")
    )
    safety_checker = models.CharField(
        max_length=100, blank=True, default="", help_text=_("The checkers and their versions"), verbose_name=_("safety checker")
    )
    safety_reason = models.CharField(max_length=200, blank=True, default="", verbose_name=_("safety reason"))
    safety_released = models.BooleanField(
        default=False, help_text=_("A curator released it from quarantine (safety.Release)"), verbose_name=_("safety released")
    )
    # Painted live for a visitor at the kiosk (docs/live.md): a pool picture like the others.
    live = models.BooleanField(_("live"), default=False, db_index=True, help_text=_("Painted live for a visitor at the kiosk"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("promoted at"))
    rejected_at = models.DateTimeField(null=True, blank=True, verbose_name=_("rejected at"))

    objects = ImageQuerySet.as_manager()

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        ordering = ["-created_at", "-id"]
        indexes = [
            # A key's serving pictures newest first, read from the index alone on PostgreSQL (the
            # columns /garden's candidates and /gardenfromDB's listing take ride along as INCLUDE).
            models.Index(
                fields=["status", "search_key", "-created_at", "-id"], include=["key", "orientation", "emotion"], name="image_serving_idx"
            ),
            models.Index(fields=["status", "emotion", "-created_at"], name="image_status_emotion_idx"),
            models.Index(fields=["-created_at", "-id"], name="image_newest_idx"),
            # Curation's review queue and its "left"/"kept" counts (index-only at 100k rows).
            models.Index(fields=["status", "kept", "-created_at", "-id"], name="image_review_idx"),
        ]
        constraints = [
            # A quarantined picture is never served, whatever code path tries (docs/safety.md).
            models.CheckConstraint(
                condition=~models.Q(status=choices.Status.SERVING, safety_verdict=choices.Verdict.FLAGGED, safety_released=False),
                name="image_quarantine_never_serving",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def save(self, *args, **kwargs) -> None:
        """Saved, and the serving version moved in the same transaction when the row is or was serving
        (garden.freshness: every write of an image passes through here or ImageQuerySet)."""
        update_fields = kwargs.get("update_fields")
        fields = [field.name for field in self._meta.concrete_fields] if update_fields is None else list(update_fields)
        # A new row matters only when it is serving; a saved one may have been serving before.
        adding = self._state.adding
        status = self.status if adding or "status" in fields else None
        touches = freshness.touches_serving(fields, status=status, maybe_serving=not adding)
        if not touches:
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with freshness.atomic(using):
            super().save(*args, **kwargs)
            freshness.after_write(True, using)

    def delete(self, *args, **kwargs):
        if self.status != choices.Status.SERVING:
            return super().delete(*args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with freshness.atomic(using):
            deleted = super().delete(*args, **kwargs)
            freshness.after_write(deleted[0] > 0, using)
        return deleted

    @property
    def is_portrait(self) -> bool:
        return self.orientation == self.Orientation.PORTRAIT

    @property
    def quarantined(self) -> bool:
        return self.safety_verdict == self.Safety.FLAGGED and not self.safety_released

    @property
    def cleared(self) -> bool:
        """Promotable with no curator: the check passed it, or a curator released it (CLEARED below)."""
        return self.safety_verdict == self.Safety.PASSED or self.safety_released


class ImageLook(models.Model):
    """What a picture looks like (garden.looks): measured from its file once, when it is stored.

    A table of its own rather than columns of the image: written with the image by
    garden.services.create_image and rewrite_image, back-filled by ``manage.py measure_pictures``,
    read in bulk by garden.selectors.looks_of. One field per garden.looks.LOOK_FIELDS, same order.
    """

    image = models.OneToOneField(Image, primary_key=True, on_delete=models.CASCADE, related_name="look")
    lightness = models.FloatField(help_text=_("Mean Rec. 709 luma (0…1)"))
    contrast = models.FloatField(help_text=_("Standard deviation of luma"))
    saturation = models.FloatField(help_text=_("Mean HSV saturation (0…1)"))
    warmth = models.FloatField(help_text=_("Mean red minus blue (-1…1)"))
    colourfulness = models.FloatField(help_text=_("Hasler–Süsstrunk colourfulness / 100"))
    sky_light = models.FloatField(help_text=_("Luma of the top half minus the bottom half"))
    detail = models.FloatField(help_text=_("Mean absolute luma difference of neighbouring pixels"))
    greenness = models.FloatField(help_text=_("Mean green minus the mean of red and blue"))
    version = models.PositiveSmallIntegerField(default=looks.VERSION, help_text=_("garden.looks.VERSION it was measured with"))
    measured_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"look of {self.image_id}"

    def values(self) -> list[float]:
        return [getattr(self, name) for name in looks.LOOK_FIELDS]


class ImageParent(models.Model):
    """A picture bred from another (the gardener's bred jobs, docs/gardener.md): one row per parent.

    The recommender starts a child from its parents' evidence (recommend.lineage) rather than from
    nothing. Written with the child (garden.services.create_image, from the lineage its bred job
    gives it: generation.lineage); gone with either picture.
    """

    child = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="parent_links")
    parent = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="child_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "parent"], name="image_parent_once")]

    def __str__(self) -> str:
        return f"{self.child_id} from {self.parent_id}"


class ServingState(models.Model):
    """One row: a token that changes, in the same transaction, with every change of the serving set
    (moved by garden's image writes: garden.freshness, which says why CatalogChange is a second signal).

    Everything rendered from the serving set (the /gardenfromDB answers, /garden's candidates) is
    cached under this token, so a promotion is in the very next answer and nothing is guessed from
    time. A random token rather than a counter: a rolled-back change restores the old token, and a
    token is never reused for different content.
    """

    version = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.version


class Visitor(models.Model):
    """A kiosk visitor: derived labels only, never the photo.

    Rows are made by /emotion only. The id is the string the kiosk sent (garden.visitors), or a
    new UUIDv4; events of ids that never came through /emotion carry the id without a row here.
    """

    AgeGroup = choices.AgeGroup

    id = models.CharField(primary_key=True, max_length=VISITOR_ID_LENGTH, default=new_visitor_id, verbose_name=_("ID"))
    age_low = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("age low"))
    age_high = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("age high"))
    age_group = models.CharField(
        max_length=16, choices=AgeGroup.choices, blank=True, default="", verbose_name=_("age group")
    )  # "generation" on the wire
    gender = models.CharField(max_length=8, blank=True, default="", verbose_name=_("gender"))
    emotion = models.CharField(max_length=16, blank=True, default="", help_text=_("Last apparent expression"), verbose_name=_("emotion"))
    # garden.visitors.segment_of(age_group, gender), kept by save() so statements read it, never recompute it
    segment = models.CharField(max_length=30, blank=True, default="", editable=False, verbose_name=_("segment"))
    features = models.JSONField(default=dict, blank=True, verbose_name=_("features"))
    first_seen = models.DateTimeField(default=timezone.now, verbose_name=_("first seen"))
    last_seen = models.DateTimeField(default=timezone.now, verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")

    def __str__(self) -> str:
        return str(self.id)

    def save(self, *args, **kwargs) -> None:
        self.segment = segment_of(self.age_group, self.gender)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"age_group", "gender"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "segment"}
        super().save(*args, **kwargs)


class CatalogChange(models.Model):
    """One row: a counter database triggers bump whenever images are deleted or re-keyed
    (garden.catalog_changes), so what was computed from the images (the recommender's counts of its
    catalog) knows whether it still holds without reading them. The other "images changed" signal,
    ServingState, and why there are two: garden.freshness.

    Table ``garden_catalogchange`` (garden/0018 renamed it from ``recommend_catalogchange``, which
    stays a read-only view for the previous release's processes until the next release drops it).
    """

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog version {self.version}"
