from django.db import models
from django.utils import timezone


class Interaction(models.Model):
    """One kiosk event: a like (click), a screen of impressions, or a dislike (an undone like)."""

    class Event(models.TextChoices):
        CLICK = "click", "Like"
        IMPRESSION = "impression", "Impression"
        DISLIKE = "dislike", "Dislike"

    visitor = models.ForeignKey("garden.Visitor", on_delete=models.CASCADE, related_name="interactions")
    # The key is kept beside the foreign key so the data set survives a purge of the image file.
    image = models.ForeignKey("garden.Image", on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions")
    item_key = models.CharField(max_length=512, blank=True, default="")
    event_type = models.CharField(max_length=16, choices=Event.choices)
    impression = models.JSONField(default=list, blank=True, help_text="Keys that were on screen")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["visitor", "created_at"], name="interaction_visitor_idx"),
            models.Index(fields=["image", "event_type"], name="interaction_image_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.item_key} by {self.visitor_id}"
