"""Insights rollups: time-bucketed counts the dashboard reads instead of scanning raw events.

Kept by a Celery beat task (``insights.services.refresh_rollups``) that recomputes only recent
buckets from the raw tables and never touches older ones, so the history survives when a
retention policy deletes old interactions, recommendations or jobs. Visitor ids never appear
here: only counts per derived label (apparent expression, generation, gender).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Granularity(models.TextChoices):
    HOUR = "hour"
    DAY = "day"


class VisitorRollup(models.Model):
    """Distinct visitors active in a bucket (an /emotion reading or a kiosk event), per derived labels."""

    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    bucket = models.DateTimeField(help_text="Start of the hour or of the day (in TIME_ZONE)")
    emotion = models.CharField(max_length=16, blank=True, default="", help_text="The visitor's apparent expression; empty: unknown")
    age_group = models.CharField(max_length=16, blank=True, default="", help_text="Apparent age group (garden.Visitor.AgeGroup)")
    gender = models.CharField(max_length=8, blank=True, default="")
    visitors = models.PositiveIntegerField(default=0)
    likers = models.PositiveIntegerField(default=0, help_text="Of those, visitors who liked at least one image in the bucket")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["granularity", "bucket", "emotion", "age_group", "gender"], name="visitorrollup_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.granularity} {self.bucket:%Y-%m-%d %H:%M} {self.emotion}: {self.visitors}"


class FeedbackRollup(models.Model):
    """Impressions, likes and dislikes of one search key (emotion/favorite) in one day."""

    bucket = models.DateTimeField()
    search_key = models.CharField(max_length=120)
    emotion = models.CharField(max_length=16)
    impressions = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    dislikes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "search_key"], name="feedbackrollup_uniq")]
        indexes = [models.Index(fields=["emotion", "bucket"], name="feedbackrollup_emotion_idx")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d} {self.search_key}: {self.likes}/{self.impressions}"


class ImageRollup(models.Model):
    """Impressions, likes and dislikes of one image in one day (the image's id, not a foreign key:
    the row outlives a purge of the image)."""

    bucket = models.DateTimeField()
    image_id = models.BigIntegerField()
    impressions = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    dislikes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "image_id"], name="imagerollup_uniq")]
        indexes = [models.Index(fields=["image_id"], name="imagerollup_image_idx")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d} image {self.image_id}: {self.likes}/{self.impressions}"


class ImageTotal(models.Model):
    """One image's totals over every kept day, with its like-rate's 95% Wilson interval: the
    prune list reads the best lower bounds and the worst upper bounds through their indexes."""

    image = models.OneToOneField("garden.Image", primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    emotion = models.CharField(max_length=16)
    impressions = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    dislikes = models.PositiveIntegerField(default=0)
    like_rate = models.FloatField(default=0.0)
    like_low = models.FloatField(default=0.0)
    like_high = models.FloatField(default=1.0)

    class Meta:
        indexes = [
            models.Index(fields=["-like_low"], name="imagetotal_best_idx"),
            models.Index(fields=["like_high"], name="imagetotal_worst_idx"),
            models.Index(fields=["emotion", "-like_low"], name="imagetotal_emotion_best_idx"),
            models.Index(fields=["emotion", "like_high"], name="imagetotal_emotion_worst_idx"),
        ]

    def __str__(self) -> str:
        return f"image {self.image_id}: {self.likes}/{self.impressions}"


class RecommenderRollup(models.Model):
    """Served gardens and their attributed feedback (X-Recommendation-Id) per ranker label and day."""

    bucket = models.DateTimeField()
    ranker = models.CharField(max_length=64, help_text="Ranker and model version, e.g. counting-v12")
    emotion = models.CharField(max_length=16)
    gardens = models.PositiveIntegerField(default=0, help_text="/garden answers served")
    gardens_liked = models.PositiveIntegerField(default=0, help_text="Distinct gardens with at least one attributed like")
    impressions = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    explore_impressions = models.PositiveIntegerField(
        default=0, help_text="Impressions of fresh images (shown fewer than RECOMMEND_FRESH_IMPRESSIONS times before the day)"
    )
    explore_likes = models.PositiveIntegerField(default=0, help_text="Likes of fresh images")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "ranker", "emotion"], name="recommenderrollup_uniq")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d} {self.ranker} {self.emotion}: {self.likes}/{self.impressions}"


class GardenRollup(models.Model):
    """/garden answers served for one search key in one day, and how many of them were empty or
    fell back to the emotion's other favorites (recommend.Recommendation.fallback)."""

    bucket = models.DateTimeField()
    search_key = models.CharField(max_length=120)
    emotion = models.CharField(max_length=16)
    gardens = models.PositiveIntegerField(default=0)
    fallback = models.PositiveIntegerField(default=0, help_text="Answers with the emotion's other favorites added (too few of its own)")
    empty = models.PositiveIntegerField(default=0, help_text="Answers with no image at all")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "search_key"], name="gardenrollup_uniq")]
        indexes = [models.Index(fields=["emotion", "bucket"], name="gardenrollup_emotion_idx")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d} {self.search_key}: {self.gardens} gardens, {self.fallback} fallback, {self.empty} empty"


class JobRollup(models.Model):
    """Generation jobs that finished in one day, per backend, model and emotion.

    Named for its jobs (it was GenerationRollup, beside the visitors' age-group column, "generation"
    on the wire); its table keeps the first name, so the previous release reads it during a deploy.
    """

    bucket = models.DateTimeField()
    backend = models.CharField(max_length=32)
    model_id = models.CharField(max_length=255, blank=True, default="")
    emotion = models.CharField(max_length=16)
    jobs = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    images = models.PositiveIntegerField(default=0)
    queue_wait_seconds = models.FloatField(default=0.0, help_text="Sum of started_at - created_at")
    waited_jobs = models.PositiveIntegerField(default=0, help_text="Jobs with a start time (the wait's divisor)")
    work_seconds = models.FloatField(default=0.0, help_text="Sum of generate, store and thumbnail seconds")
    timed_images = models.PositiveIntegerField(default=0, help_text="Images of the jobs with timings (the work's divisor)")

    class Meta:
        db_table = "insights_generationrollup"
        constraints = [models.UniqueConstraint(fields=["bucket", "backend", "model_id", "emotion"], name="generationrollup_uniq")]

    def __str__(self) -> str:
        return f"{self.bucket:%Y-%m-%d} {self.backend} {self.model_id}: {self.images} images"


class RollupState(models.Model):
    """One row: how far the rollups are complete, and how the last refresh went."""

    computed_until = models.DateTimeField(null=True, blank=True, help_text="Rollups are complete up to here")
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_seconds = models.FloatField(null=True, blank=True)
    last_window_start = models.DateTimeField(null=True, blank=True, help_text="Where the last refresh started recomputing")

    def __str__(self) -> str:
        return f"rollups until {self.computed_until}"


class Dashboard(models.Model):
    """No table: carries the ``insights.view_dashboard`` right and the admin's "Insights" entry."""

    class Meta:
        verbose_name = _("insights dashboard")
        verbose_name_plural = _("insights dashboard")
        managed = False
        default_permissions = ("view",)

    def __str__(self) -> str:
        return "Insights dashboard"
