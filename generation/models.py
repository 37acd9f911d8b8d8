import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garden.models import Emotion, Image


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

        LOADING = "loading", _("Loading the model")
        PAINTING = "painting", _("Painting")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_jobs"
    )
    # One of Kind or a kind an app above registers (no choices here: generation.kinds.choices() knows them all).
    kind = models.CharField(max_length=16, default=Kind.IMAGES)

    # What to paint. `prompt` is the final text sent to the model (composed from emotion_text,
    # favorite and others when no prompt was given); emotion/favorite choose the key folder.
    emotion = models.CharField(max_length=16, choices=Emotion.choices)
    favorite = models.CharField(max_length=100, blank=True, default="")
    emotion_text = models.CharField(max_length=200, blank=True, default="")
    others = models.TextField(blank=True, default="")
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True, default="")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    steps = models.PositiveIntegerField()
    guidance = models.FloatField()
    seed = models.BigIntegerField(help_text="Base seed: image n of the plan uses seed + n")
    count = models.PositiveIntegerField(default=1)
    # LoRAs of the model library applied to this job: [{"name": …, "weight": …}], in order.
    loras = models.JSONField(default=list, blank=True)
    # Text-to-image options beyond the columns above (sampler, clip_skip, subseed, styles…), as validated.
    options = models.JSONField(default=dict, blank=True)

    backend = models.CharField(max_length=32)
    model_id = models.CharField(max_length=255, blank=True, default="")
    # The model library's pipeline by name ("" = no library: GARDEN_DIFFUSION_MODEL); model_id is its path.
    model = models.CharField(max_length=200, blank=True, default="")
    scheduler = models.CharField(max_length=32, blank=True, default="")
    queue = models.CharField(max_length=64, default="gpu")
    # Work nobody waits for (the gardener's): sent below staff and kiosk jobs (generation.enqueue).
    background = models.BooleanField(default=False, help_text="Sent at a lower priority than staff and kiosk jobs (the gardener's)")
    # Someone waits for it now (a visitor's live picture, set by the live app): the worker keeps its
    # model loaded, writes progress less often, makes no thumbnail and encodes the quick way.
    # The column keeps its first name (``interactive``): running releases read and write it.
    live = models.BooleanField(
        default=False, db_column="interactive", help_text="A person waits for this picture now (the live picture): the lean path"
    )
    # One timestamp per job; keys add index and orientation, and the timestr's random suffix keeps
    # two jobs of the same second apart.
    timestr = models.CharField(max_length=40)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    steps_done = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, default="", help_text="What its worker does now")
    steps_total = models.PositiveIntegerField(default=0)
    images_done = models.PositiveIntegerField(default=0)
    images_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # What happened to the job besides its status, for the curator: "Worker lost (…); resumed (attempt 2 of 3)."
    notice = models.CharField(max_length=500, blank=True, default="", help_text="Why the job was resumed or retried")
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds: load, generate, store")

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the worker running it")
    # The heartbeat thread beats even while the pipeline hangs: this moves only with real progress
    # (a claim, a step, an image), so the sweeper can tell a hung attempt (GARDEN_JOB_HUNG_SECONDS_PER_STEP).
    progress_at = models.DateTimeField(null=True, blank=True, help_text="When the running attempt last made progress")
    # A queued job's message can be lost (a broker restarted without persistence): the sweeper
    # sends it again once it has waited GARDEN_JOB_REQUEUE_AFTER_SECONDS since the last send.
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When its message was last sent to the broker")
    resends = models.PositiveIntegerField(default=0, help_text="Messages re-sent by the sweeper for this job while queued")
    # The last send failed (broker down): the next sweep sends it again without waiting.
    send_failed = models.BooleanField(default=False, help_text="Its last send to the broker failed; the sweeper sends it again")
    finished_at = models.DateTimeField(null=True, blank=True)

    images = models.ManyToManyField(Image, blank=True, related_name="generation_jobs")

    class Meta:
        verbose_name = _("generation job")
        verbose_name_plural = _("generation jobs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "queue", "created_at"], name="genjob_queue_idx"),
            models.Index(fields=["created_by", "-created_at"], name="genjob_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress(self) -> float:
        return round(self.steps_done / self.steps_total, 4) if self.steps_total else (1.0 if self.status == self.Status.SUCCEEDED else 0.0)


class LibraryEntry(models.Model):
    """One model of the library under GARDEN_MODELS_DIR: a model (a diffusers pipeline folder or a
    single-file checkpoint), a LoRA, a textual-inversion embedding, a VAE or an upscaler. Rows are
    written by the scan (generation.services.library); curators edit only the defaults (steps,
    guidance, size, VAE, memory options) and which model is the default."""

    class Kind(models.TextChoices):
        PIPELINE = "pipeline", _("Model")
        LORA = "lora", _("LoRA")
        EMBEDDING = "embedding", _("Textual-inversion embedding")
        VAE = "vae", _("VAE")
        UPSCALER = "upscaler", _("Upscaler")

    class Family(models.TextChoices):
        SD1 = "sd1", _("SD 1.x")
        SD2 = "sd2", _("SD 2.x")
        SDXL = "sdxl", _("SDXL")
        TURBO = "turbo", _("Turbo (few steps, no guidance)")
        FLUX = "flux", _("Flux")
        SD3 = "sd3", _("SD 3")
        PIXART = "pixart", _("PixArt / Sana")
        OTHER = "other", _("Other")

    class Dtype(models.TextChoices):
        WORKER = "", _("The worker's (GARDEN_DIFFUSION_DTYPE)")
        AUTO = "auto", _("Automatic (bf16 for transformer models, fp16 otherwise, fp32 on CPU)")
        FP16 = "fp16", "fp16"
        BF16 = "bf16", "bf16"
        FP32 = "fp32", "fp32"

    class Offload(models.TextChoices):
        WORKER = "", _("The worker's (GARDEN_DIFFUSION_OFFLOAD)")
        NONE = "none", _("None: the whole model on the GPU")
        MODEL = "model", _("Model: one component on the GPU at a time")
        SEQUENTIAL = "sequential", _("Sequential: one layer at a time (least memory, slowest)")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The admin shows help texts as HTML: the LoRA tag is written escaped so that it stays visible.
    name = models.CharField(max_length=200, help_text="What jobs, prompts (&lt;lora:name:1&gt;) and A1111 clients call it")
    path = models.CharField(max_length=500, help_text="Relative to GARDEN_MODELS_DIR")
    family = models.CharField(max_length=16, choices=Family.choices, default=Family.OTHER)
    size_bytes = models.BigIntegerField(default=0)
    default_steps = models.PositiveIntegerField(null=True, blank=True)
    default_guidance = models.FloatField(null=True, blank=True)
    default_width = models.PositiveIntegerField(null=True, blank=True)
    default_height = models.PositiveIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False, help_text="The pipeline jobs use when they name none")
    live = models.BooleanField(default=False, help_text="Paints live pictures for visitors (docs/live.md); one pipeline at most")
    present = models.BooleanField(default=True, help_text="Found by the last scan")
    missing_since = models.DateTimeField(null=True, blank=True, help_text="When a scan first found its file gone (empty: present)")
    details = models.JSONField(default=dict, blank=True, help_text="What the scan read (class names, base model, trigger words)")
    scanned_at = models.DateTimeField(default=timezone.now)
    # Identity: sha256 of the file (A1111's short hash is its first 10 hex digits); empty for folders.
    sha256 = models.CharField(
        max_length=64, blank=True, default="", help_text="sha256 of the file, computed once per size and modification time"
    )
    short_hash = models.CharField(max_length=10, blank=True, default="", help_text="A1111's short hash (the sha256's first 10 hex digits)")
    source = models.CharField(
        max_length=1000, blank=True, default="", help_text="Where manage.py install_model got it (Hub repo, URL or path)"
    )
    usable = models.BooleanField(default=True, help_text="This product can paint with it; else unusable_reason says why")
    unusable_reason = models.CharField(max_length=500, blank=True, default="")
    # Per model, over the worker's settings (docs/models.md#memory-and-precision).
    default_vae = models.CharField(
        max_length=200, blank=True, default="", help_text="A VAE of the library used when a job names none; empty: the model's own"
    )
    live_vae = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="A tiny VAE of the library (TAESD) that decodes this model's live pictures on GPU workers; empty: its own VAE",
    )
    dtype = models.CharField(max_length=8, blank=True, default="", choices=Dtype.choices)
    offload = models.CharField(max_length=16, blank=True, default="", choices=Offload.choices)

    class Meta:
        verbose_name = _("library entry")
        verbose_name_plural = _("library entries")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="library_kind_name_unique"),
            models.UniqueConstraint(fields=["kind"], condition=models.Q(is_default=True), name="library_one_default_per_kind"),
            models.UniqueConstraint(fields=["kind"], condition=models.Q(live=True), name="library_one_live_pipeline"),
            models.CheckConstraint(condition=~models.Q(live=True) | models.Q(kind="pipeline"), name="library_live_is_pipeline"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class LibraryScan(models.Model):
    """One scan of the models folder that was asked for (the admin's Rescan, a command, A1111's
    refresh-checkpoints, an install) or that found a change (the periodic scan): what it added,
    changed and lost, by name, and what became of the default model. The admin shows the latest."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    trigger = models.CharField(max_length=32, help_text="start, periodic, admin, command, a1111 or install")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.JSONField(default=list, blank=True)
    changed = models.JSONField(default=list, blank=True)
    lost = models.JSONField(default=list, blank=True)
    settling = models.JSONField(default=list, blank=True, help_text="Files still being written: listed once they hold still")
    message = models.TextField(blank=True, default="", help_text="The scan's summary, the default model's news, or the error")

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.trigger} scan {self.requested_at:%Y-%m-%d %H:%M:%S} ({self.state})"


class WorkerPresence(models.Model):
    """A worker process's own heartbeat (every GARDEN_WORKER_PRESENCE_SECONDS): who serves which
    queues, read by health probes without a broker round trip."""

    name = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    gpu = models.BooleanField(default=False)
    details = models.JSONField(default=dict, blank=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.name
