from django.db import models
from django.utils.translation import gettext_lazy as _

from generation.models import GenerationJob


class RetouchKind(models.TextChoices):
    """The job kinds this app registers with generation (retouch.apps, generation.kinds)."""

    RETOUCH = "retouch", _("Retouch: repaint part of an image")
    BATCH = "retouch_batch", _("Retouch a batch of frames")


RETOUCH_KINDS = tuple(RetouchKind.values)


class RetouchJob(models.Model):
    """A retouch or upscale job's own state, one-to-one with its generation job (which generation
    queues, leases, cancels, retries and sweeps like any other): the validated options and the
    private uploads the worker reads."""

    job = models.OneToOneField(GenerationJob, primary_key=True, on_delete=models.CASCADE, related_name="retouch_job")
    # What retouch.options validated (rectangle, strength, mask blur, controls…), the garden source's
    # key and the selected frames: the job API answers it as the job's "retouch" (an upscale's
    # upscaler and sizes, retouch.upscale: as its "upscale").
    options = models.JSONField(default=dict, blank=True)
    # Upload role ("source", "mask", "control-0", "frames"…) → key in the private upload storage
    # (retouch.uploads); kept after the files are purged, so a retry says the upload is gone.
    uploads = models.JSONField(default=dict, blank=True)
    uploads_purged = models.BooleanField(default=False, help_text="Its uploads were deleted (GARDEN_RETOUCH_KEEP_UPLOADS_HOURS)")

    def __str__(self) -> str:
        return f"retouch of job {self.job_id}"

    def answer(self) -> dict:
        """The job API's ``retouch``: the options, without the private upload keys."""
        return {**self.options, **({"uploads_purged": True} if self.uploads_purged else {})}
