import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from garden.models import Emotion, Image
from generation.querysets import GenerationJobQuerySet


class GenerationJob(models.Model):
    """One request to generate images: its parameters, its state, and the pool images it made.

    The row is the source of truth for status and progress (Celery keeps no results), so web
    processes read progress from here and workers write it here at every denoising step.
    """

    class Kind(models.TextChoices):
        """Generation's own kinds (text to image); apps above register theirs (generation.kinds)."""

        IMAGES = "images", _("Images of one size")
        BULK = "bulk", _("Bulk: a landscape and a portrait per index")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    class Stage(models.TextChoices):
        """What a running job's worker does (generation.progress adds "finishing" after the last step)."""

        FETCHING = "fetching", _("Fetching the model onto its host")
        LOADING = "loading", _("Loading the model")
        PAINTING = "painting", _("Painting")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generation_jobs",
        verbose_name=_("created by"),
    )
    # One of Kind or a kind an app above registers (no choices here: generation.kinds.choices() knows them all).
    kind = models.CharField(max_length=16, default=Kind.IMAGES, verbose_name=_("kind"))

    # What to paint. `prompt` is the final text sent to the model (composed from emotion_text,
    # favorite and others when no prompt was given); emotion/favorite choose the key folder.
    emotion = models.CharField(max_length=16, choices=Emotion.choices, verbose_name=_("emotion"))
    favorite = models.CharField(max_length=100, blank=True, default="", verbose_name=_("favorite"))
    emotion_text = models.CharField(max_length=200, blank=True, default="", verbose_name=_("emotion text"))
    others = models.TextField(blank=True, default="", verbose_name=_("others"))
    prompt = models.TextField(verbose_name=_("prompt"))
    negative_prompt = models.TextField(blank=True, default="", verbose_name=_("negative prompt"))
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    steps = models.PositiveIntegerField(verbose_name=_("steps"))
    guidance = models.FloatField(verbose_name=_("guidance"))
    seed = models.BigIntegerField(help_text=_("Base seed: image n of the plan uses seed + n"), verbose_name=_("seed"))
    count = models.PositiveIntegerField(default=1, verbose_name=_("count"))
    # LoRAs of the model library applied to this job: [{"name": …, "weight": …}], in order.
    loras = models.JSONField(default=list, blank=True, verbose_name=_("loras"))
    # Text-to-image options beyond the columns above (sampler, clip_skip, subseed, styles…), as validated.
    options = models.JSONField(default=dict, blank=True, verbose_name=_("options"))

    backend = models.CharField(max_length=32, verbose_name=_("backend"))
    model_id = models.CharField(max_length=255, blank=True, default="", verbose_name=_("model id"))
    # The model library's pipeline by name ("" = no library: GARDEN_DIFFUSION_MODEL); model_id is its path.
    model = models.CharField(max_length=200, blank=True, default="", verbose_name=_("model"))
    scheduler = models.CharField(max_length=32, blank=True, default="", verbose_name=_("scheduler"))
    queue = models.CharField(max_length=64, default="gpu", verbose_name=_("queue"))
    # Work nobody waits for (the gardener's): sent below staff and kiosk jobs (generation.dispatch.enqueue).
    background = models.BooleanField(
        default=False, help_text=_("Sent at a lower priority than staff and kiosk jobs (the gardener's)"), verbose_name=_("background")
    )
    # Someone waits for it now (a visitor's live picture, set by the live app): the worker keeps its
    # model loaded, writes progress less often, makes no thumbnail and encodes the quick way.
    # The column keeps its first name (``interactive``): running releases read and write it.
    live = models.BooleanField(
        default=False,
        db_column="interactive",
        help_text=_("A person waits for this picture now (the live picture): the lean path"),
        verbose_name=_("live"),
    )
    # One timestamp per job; keys add index and orientation, and the timestr's random suffix keeps
    # two jobs of the same second apart.
    timestr = models.CharField(max_length=40, verbose_name=_("timestr"))

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status"))
    cancel_requested = models.BooleanField(default=False, verbose_name=_("cancel requested"))
    steps_done = models.PositiveIntegerField(default=0, verbose_name=_("steps done"))
    stage = models.CharField(
        max_length=16, choices=Stage.choices, blank=True, default="", help_text=_("What its worker does now"), verbose_name=_("stage")
    )
    steps_total = models.PositiveIntegerField(default=0, verbose_name=_("steps total"))
    images_done = models.PositiveIntegerField(default=0, verbose_name=_("images done"))
    images_total = models.PositiveIntegerField(default=0, verbose_name=_("images total"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    # What happened to the job besides its status, for the curator: "Worker lost (…); resumed (attempt 2 of 3)."
    notice = models.CharField(
        max_length=500, blank=True, default="", help_text=_("Why the job was resumed or retried"), verbose_name=_("notice")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    worker = models.CharField(max_length=255, blank=True, default="", verbose_name=_("worker"))
    timings = models.JSONField(default=dict, blank=True, help_text=_("Seconds: load, generate, store"), verbose_name=_("timings"))

    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Last sign of life of the worker running it"), verbose_name=_("heartbeat at")
    )
    # The heartbeat thread beats even while the pipeline hangs: this moves only with real progress
    # (a claim, a step, an image), so the sweeper can tell a hung attempt (GARDEN_JOB_HUNG_SECONDS_PER_STEP).
    progress_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the running attempt last made progress"), verbose_name=_("progress at")
    )
    # A queued job's message can be lost (a broker restarted without persistence): the sweeper
    # sends it again once it has waited GARDEN_JOB_REQUEUE_AFTER_SECONDS since the last send.
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When its message was last sent to the broker"), verbose_name=_("enqueued at")
    )
    resends = models.PositiveIntegerField(
        default=0, help_text=_("Messages re-sent by the sweeper for this job while queued"), verbose_name=_("resends")
    )
    # The last send failed (broker down): the next sweep sends it again without waiting.
    send_failed = models.BooleanField(
        default=False, help_text=_("Its last send to the broker failed; the sweeper sends it again"), verbose_name=_("send failed")
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    # A message wakes a worker for any job of its queue (generation.dispatch.pull): the one whose run
    # claimed this attempt, so a worker that loses that run's process knows which job to requeue.
    message_id = models.CharField(
        max_length=255, blank=True, default="", help_text=_("Celery message whose run claimed it"), verbose_name=_("message")
    )

    images = models.ManyToManyField(Image, blank=True, related_name="generation_jobs", verbose_name=_("images"))

    objects = GenerationJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("generation job")
        verbose_name_plural = _("generation jobs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "queue", "created_at"], name="genjob_queue_idx"),
            models.Index(fields=["created_by", "-created_at"], name="genjob_owner_idx"),
        ]

    def __str__(self) -> str:
        # No status (nor kind): the admin's "Recent actions" keeps this text, and a job's status changes.
        return gettext("Job %(id)s") % {"id": str(self.id)[:8]}

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress(self) -> float:
        return round(self.steps_done / self.steps_total, 4) if self.steps_total else (1.0 if self.status == self.Status.SUCCEEDED else 0.0)


class WorkerPresence(models.Model):
    """A worker process's own heartbeat (every GARDEN_WORKER_PRESENCE_SECONDS): who serves which
    queues, read by health probes without a broker round trip."""

    name = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    gpu = models.BooleanField(default=False)
    details = models.JSONField(default=dict, blank=True)
    seen_at = models.DateTimeField(db_index=True)
    # Its machine (library.hosts.host_name) and, written by the process that paints as soon as they
    # change, the models it holds in memory and the one it is loading (generation.dispatch.pull reads them).
    host = models.CharField(max_length=255, blank=True, default="")
    models_loaded = models.JSONField(default=list, blank=True)
    model_loading = models.CharField(max_length=255, blank=True, default="")

    def __str__(self) -> str:
        return self.name
