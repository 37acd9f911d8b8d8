from django.db import models
from django.utils import timezone


class Fallback(models.IntegerChoices):
    """What a /garden answer held (recommend.candidates): the search key's own images; fewer than
    RECOMMEND_MIN_RESULTS of them, so its emotion's other favorites were added; or nothing at all."""

    NONE = 0, "the key's own images"
    OTHER_FAVORITES = 1, "fell back to the emotion's other favorites"
    EMPTY = 2, "empty"


class Recommendation(models.Model):
    """One /garden answer, kept so likes and impressions can be attributed to what was served.

    Kept small (one is written per /garden call): the ids of the first few images of each
    orientation, not the whole list. ``visitor`` holds the id as sent, with or without a row.
    """

    visitor = models.ForeignKey(
        "garden.Visitor", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="recommendations", db_constraint=False
    )
    search_key = models.CharField(max_length=120)
    image_ids = models.JSONField(
        default=list, blank=True, help_text="Ids of the first RECOMMEND_LOGGED_RESULTS images of each orientation, best first"
    )
    ranker = models.CharField(max_length=64, help_text="Ranker name and model version that ordered the list")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # How full the answer was (insights counts these per search key). A database default, so rows
    # written without it (older code, bulk loads) read as a full answer.
    fallback = models.PositiveSmallIntegerField(
        choices=Fallback.choices, default=Fallback.NONE, db_default=Fallback.NONE, help_text="Whether the search key had enough images"
    )

    def __str__(self) -> str:
        return f"{self.search_key} for {self.visitor_id} by {self.ranker}"


class Interaction(models.Model):
    """One kiosk event: a like (click), a screen of impressions, or a dislike (an undone like)."""

    class Event(models.TextChoices):
        CLICK = "click", "Like"
        IMPRESSION = "impression", "Impression"
        DISLIKE = "dislike", "Dislike"

    # The id as the kiosk sent it: a Visitor row exists only for ids that came through /emotion,
    # and events outlive it (retention deletes labels and events on their own schedules).
    # Indexed by interaction_visitor_idx below (each index is work for every kiosk event).
    visitor = models.ForeignKey(
        "garden.Visitor", on_delete=models.DO_NOTHING, related_name="interactions", db_constraint=False, db_index=False
    )
    # The key is kept beside the foreign key so the data set survives a purge of the image file.
    # Indexed by interaction_image_event_idx below.
    image = models.ForeignKey("garden.Image", on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions", db_index=False)
    item_key = models.CharField(max_length=512, blank=True, default="")
    event_type = models.CharField(max_length=16, choices=Event.choices)
    impression = models.JSONField(default=list, blank=True, help_text="Keys that were on screen (garden images only)")
    unknown_keys = models.PositiveSmallIntegerField(default=0, help_text="Keys reported on screen that name no image (not stored)")
    # The visitor's age/gender segment when the event happened: counted under it, even after the
    # visitor's labels are gone (retention, a deletion request).
    segment = models.CharField(max_length=40, blank=True, default="")
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions", db_constraint=False
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["visitor", "created_at"], name="interaction_visitor_idx"),
            models.Index(fields=["image", "event_type"], name="interaction_image_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.item_key} by {self.visitor_id}"


class ImageStat(models.Model):
    """Feedback counts of one image within one segment ("*" = everyone, else "age group|gender").

    Incremented on every event with one INSERT … ON CONFLICT statement (no read-modify-write, so
    concurrent events are never lost) and recomputed from Interaction by the periodic rebuild.
    """

    segment = models.CharField(max_length=40)
    # Indexed by the unique constraint (image, segment); a second index would slow every event.
    image = models.ForeignKey("garden.Image", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    impressions = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    dislikes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "segment"], name="imagestat_image_segment_uniq")]

    def __str__(self) -> str:
        return f"image {self.image_id} [{self.segment}]: {self.likes}/{self.impressions}"


class RetiredImageStat(models.Model):
    """Counts of events deleted by retention or a deletion request: a rebuild adds them to its
    recount from the events that remain, so the counters keep their aggregates."""

    segment = models.CharField(max_length=40)
    image = models.ForeignKey("garden.Image", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    impressions = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    dislikes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "segment"], name="retiredimagestat_image_segment_uniq")]

    def __str__(self) -> str:
        return f"image {self.image_id} [{self.segment}]: {self.likes}/{self.impressions} (retired)"


class RetiredFavoriteStat(models.Model):
    """Like RetiredImageStat, per search key."""

    segment = models.CharField(max_length=40)
    search_key = models.CharField(max_length=120)
    impressions = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "search_key"], name="retiredfavoritestat_segment_key_uniq")]

    def __str__(self) -> str:
        return f"{self.search_key} [{self.segment}]: {self.likes}/{self.impressions} (retired)"


class FavoriteStat(models.Model):
    """Feedback counts of one search key (emotion/favorite) within one segment ("*" = everyone)."""

    segment = models.CharField(max_length=40)
    search_key = models.CharField(max_length=120)
    impressions = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "search_key"], name="favoritestat_segment_key_uniq")]

    def __str__(self) -> str:
        return f"{self.search_key} [{self.segment}]: {self.likes}/{self.impressions}"


class CounterChange(models.Model):
    """One shard of an emotion's counters change token: a new random value written in the same
    statement (or transaction) as the counts it covers, so what a web process keeps under the
    emotion's token (all its shards) is never stale. An event writes one shard, picked at random,
    so concurrent likes of an emotion seldom wait on one row's lock (recommend.tokens)."""

    emotion = models.CharField(max_length=16)
    shard = models.PositiveSmallIntegerField()
    token = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["emotion", "shard"], name="counterchange_emotion_shard_uniq")]

    def __str__(self) -> str:
        return f"{self.emotion}[{self.shard}]: {self.token}"


class ModelVersion(models.Model):
    """A trained ranker: its fitted parameters and (optional) factor matrices, stored in the DB so
    every web process can load the same version without shared disk."""

    ranker = models.CharField(max_length=32, default="counting")
    params = models.JSONField(default=dict, blank=True)
    artefact = models.BinaryField(blank=True, default=b"", help_text="numpy .npz (ALS factors), may be empty")
    taste = models.BinaryField(blank=True, default=b"", help_text="numpy .npz of the taste model (recommend.taste), may be empty")
    lineage = models.BinaryField(blank=True, default=b"", help_text="numpy .npz of bred pictures' head starts (recommend.lineage)")
    metrics = models.JSONField(default=dict, blank=True, help_text="Fit statistics: rows, seconds")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        get_latest_by = "id"

    def __str__(self) -> str:
        return f"{self.ranker} v{self.pk}"


class StoredCounts(models.Model):
    """The model's counts as of one event id, kept so the next rebuild counts only the events after
    it (recommend.counting); one row, dropped whenever events are deleted (the next rebuild recounts)."""

    through_id = models.BigIntegerField(help_text="The highest event id counted")
    events = models.BigIntegerField(default=0, help_text="Events counted")
    images = models.IntegerField(help_text="Images (the first by id) the counts were made against")
    catalog_version = models.BigIntegerField(default=0, help_text="CatalogChange's version when that catalog was read")
    segments = models.JSONField(default=list)
    search_keys = models.JSONField(default=list, help_text="The search keys of the counts' key columns, in order")
    counts = models.BinaryField(help_text="numpy .npz of the dense count tables and the images' ids and search keys")
    recounted_at = models.DateTimeField(help_text="When every event was last counted")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Its first name (KeptCounts) stays on the table: the previous release reads it during a deploy.
        db_table = "recommend_keptcounts"

    def __str__(self) -> str:
        return f"counts through event {self.through_id}"
