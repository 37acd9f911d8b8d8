"""The model library's rows: one per model, LoRA, embedding, VAE, upscaler, ControlNet or tagger (``LibraryEntry``), and
the scans asked for or that changed something (``LibraryScan``). Both tables keep the names the
generation app created them under (library/migrations/0001_initial)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LibraryEntryQuerySet(models.QuerySet):
    def usable(self) -> LibraryEntryQuerySet:
        """Entries that can paint as far as the rows know: the last scan found the file (``present``)
        and found it usable. The one rule every list of usable entries starts from;
        library.selectors.why_unusable says the same of one entry, and adds its file's check."""
        return self.filter(present=True, usable=True)


class LibraryEntry(models.Model):
    """One model of the library under GARDEN_MODELS_DIR: a model (a checkpoint, one file, or a
    diffusers folder; kind "pipeline"), a LoRA, a textual-inversion embedding, a VAE, an upscaler, or
    a ControlNet or WD14 tagger folder (the retouch engine's and the tags endpoint's). Rows are
    written by the scan (library.services.entries); curators edit only the defaults (steps,
    guidance, size, VAE, memory options) and which model is the default."""

    class Kind(models.TextChoices):
        PIPELINE = "pipeline", _("Model")
        LORA = "lora", _("LoRA")
        EMBEDDING = "embedding", _("Textual-inversion embedding")
        VAE = "vae", _("VAE")
        UPSCALER = "upscaler", _("Upscaler")
        CONTROLNET = "controlnet", _("ControlNet")
        TAGGER = "tagger", _("Tagger (WD14)")

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

    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    # The admin shows help texts as HTML: the LoRA tag is written escaped so that it stays visible.
    name = models.CharField(
        max_length=200, help_text=_("What jobs, prompts (&lt;lora:name:1&gt;) and A1111 clients call it"), verbose_name=_("name")
    )
    path = models.CharField(max_length=500, help_text=_("Relative to GARDEN_MODELS_DIR"), verbose_name=_("path"))
    family = models.CharField(max_length=16, choices=Family.choices, default=Family.OTHER, verbose_name=_("family"))
    size_bytes = models.BigIntegerField(default=0, verbose_name=_("size bytes"))
    default_steps = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("default steps"))
    default_guidance = models.FloatField(null=True, blank=True, verbose_name=_("default guidance"))
    default_width = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("default width"))
    default_height = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("default height"))
    is_default = models.BooleanField(default=False, help_text=_("The model jobs use when they name none"), verbose_name=_("is default"))
    live = models.BooleanField(
        default=False, help_text=_("Paints live pictures for visitors (docs/live.md); one model at most"), verbose_name=_("live")
    )
    present = models.BooleanField(default=True, help_text=_("Found by the last scan"), verbose_name=_("present"))
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text=_("When a scan first found its file gone (empty: present)"), verbose_name=_("missing since")
    )
    details = models.JSONField(
        default=dict, blank=True, help_text=_("What the scan read (class names, base model, trigger words)"), verbose_name=_("details")
    )
    scanned_at = models.DateTimeField(default=timezone.now, verbose_name=_("scanned at"))
    # Identity: sha256 of the file (A1111's short hash is its first 10 hex digits); empty for folders.
    sha256 = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text=_("sha256 of the file, computed once per size and modification time"),
        verbose_name=_("sha256"),
    )
    short_hash = models.CharField(
        max_length=10,
        blank=True,
        default="",
        help_text=_("A1111's short hash (the sha256's first 10 hex digits)"),
        verbose_name=_("short hash"),
    )
    source = models.CharField(
        max_length=1000, blank=True, default="", help_text=_("Where its install got it (Hub repo, URL or path)"), verbose_name=_("source")
    )
    usable = models.BooleanField(
        default=True,
        help_text=_("The last scan found a file this product can paint with; else unusable_reason says why"),
        verbose_name=_("usable"),
    )
    unusable_reason = models.CharField(max_length=500, blank=True, default="", verbose_name=_("unusable reason"))
    # Per model, over the worker's settings (docs/models.md#memory-and-precision).
    default_vae = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=_("A VAE of the library used when a job names none; empty: the model's own"),
        verbose_name=_("default vae"),
    )
    live_vae = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=_("A tiny VAE of the library (TAESD) that decodes this model's live pictures on GPU workers; empty: its own VAE"),
        verbose_name=_("live vae"),
    )
    dtype = models.CharField(max_length=8, blank=True, default="", choices=Dtype.choices, verbose_name=_("dtype"))
    offload = models.CharField(max_length=16, blank=True, default="", choices=Offload.choices, verbose_name=_("offload"))
    stored_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the venue's model store (GARDEN_MODELS_STORE) was found to hold its file; empty: not stored"),
        verbose_name=_("stored at"),
    )

    # A diffusers folder's identity: the sha256 of its manifest (each file's path, sha256 and size,
    # library.manifests), which the store keeps beside the files it names. Empty for single files.
    manifest_sha256 = models.CharField(
        max_length=64, blank=True, default="", help_text="A diffusers folder's identity: the sha256 of its files' manifest"
    )

    objects = LibraryEntryQuerySet.as_manager()

    class Meta:
        # The table keeps the name it was created under (generation's): a running previous release reads it.
        db_table = "generation_libraryentry"
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

    @property
    def content_sha256(self) -> str:
        """What the store and each host's cache key the entry by: a file's sha256, a folder's manifest's."""
        return self.sha256 or self.manifest_sha256

    @property
    def kind_word(self) -> str:
        """The kind as messages and commands say it: "model" (a checkpoint or a diffusers folder; the
        stored value stays "pipeline"), else the kind's value (lora, embedding, vae, upscaler, controlnet, tagger)."""
        return "model" if self.kind == self.Kind.PIPELINE else str(self.kind)


class LibraryScan(models.Model):
    """One scan of the models folder that was asked for (the admin's Rescan, a command, A1111's
    refresh-checkpoints, an install) or that found a change (the periodic scan): what it added,
    changed and lost, by name, and what became of the default model. The admin shows the latest."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    trigger = models.CharField(max_length=32, help_text=_("start, periodic, admin, command, a1111 or install"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.JSONField(default=list, blank=True)
    changed = models.JSONField(default=list, blank=True)
    lost = models.JSONField(default=list, blank=True)
    settling = models.JSONField(default=list, blank=True, help_text=_("Files still being written: listed not usable until they hold still"))
    message = models.TextField(blank=True, default="", help_text=_("The scan's summary, the default model's news, or the error"))

    class Meta:
        db_table = "generation_libraryscan"
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.trigger} scan {self.requested_at:%Y-%m-%d %H:%M:%S} ({self.state})"


class LibraryCopy(models.Model):
    """What one host holds of one entry: its file under that host's GARDEN_MODELS_DIR (``on_disk``),
    written by that host's scans and fetches only. An entry is lost when no host holds a copy and
    the store holds no object; ``seen_at`` is the host's last look (its copies are stale, and count
    for nothing, once it stops looking: library.selectors.fresh_since)."""

    entry = models.ForeignKey(LibraryEntry, on_delete=models.CASCADE, related_name="copies")
    host = models.CharField(max_length=200, help_text=_("GARDEN_HOST_NAME of the host holding it"))
    path = models.CharField(max_length=500, help_text=_("Relative to that host's GARDEN_MODELS_DIR"))
    size_bytes = models.BigIntegerField(default=0)
    on_disk = models.BooleanField(default=True)
    last_used = models.DateTimeField(null=True, blank=True, help_text=_("When a job on that host last asked for it"))
    seen_at = models.DateTimeField(default=timezone.now, help_text=_("When that host last looked at its folder"))

    class Meta:
        verbose_name = _("copy on a host")
        verbose_name_plural = _("copies on hosts")
        ordering = ["host"]
        constraints = [models.UniqueConstraint(fields=["entry", "host"], name="library_one_copy_per_host")]
        indexes = [models.Index(fields=["host", "on_disk"], name="library_copy_host")]

    def __str__(self) -> str:
        return f"{self.entry.name} on {self.host}"


class LibraryUpload(models.Model):
    """One host's upload of one entry into the venue's store (GARDEN_MODELS_STORE) that is under way
    or did not finish: what it has done, and why it stopped. Written by that host's follower, and by
    any host's look that finds it stalled (library.services.uploads); the row goes once the store
    holds the file (``stored_at``)."""

    class State(models.TextChoices):
        UPLOADING = "uploading", _("Uploading")
        FAILED = "failed", _("Failed: tried again later")
        STOPPED = "stopped", _("Stopped by a worker's shutdown")
        STALLED = "stalled", _("Stalled: its host stopped or went silent")

    entry = models.ForeignKey(LibraryEntry, on_delete=models.CASCADE, related_name="uploads")
    host = models.CharField(max_length=200, help_text="GARDEN_HOST_NAME of the host uploading it")
    state = models.CharField(max_length=16, choices=State.choices, default=State.UPLOADING)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0, help_text="Uploads that failed in a row")
    error = models.CharField(max_length=500, blank=True, default="")
    next_try_at = models.DateTimeField(null=True, blank=True, help_text="A failed upload is not tried again before this")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("upload to the store")
        verbose_name_plural = _("uploads to the store")
        ordering = ["host"]
        constraints = [models.UniqueConstraint(fields=["entry", "host"], name="library_one_upload_per_host")]

    def __str__(self) -> str:
        return f"{self.entry.name} from {self.host} ({self.state})"
