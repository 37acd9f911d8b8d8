from django.db import models
from django.utils.translation import gettext_lazy as _


class PromptStyle(models.Model):
    """A1111 styles, editable in the admin: ``{prompt}`` in ``prompt`` is replaced by the request's
    prompt, else the style's text is appended after a comma (A1111's rule); the same for negatives."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    prompt = models.TextField(blank=True, default="", verbose_name=_("prompt"))
    negative_prompt = models.TextField(blank=True, default="", verbose_name=_("negative prompt"))

    class Meta:
        verbose_name = _("prompt style")
        verbose_name_plural = _("prompt styles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SavedOption(models.Model):
    """An A1111 option set through ``POST /sdapi/v1/options`` that this server honours and keeps
    (a1111.steps: ``img2img_fix_steps``); the others are the library's or settings."""

    name = models.CharField(max_length=100, unique=True)
    value = models.JSONField()

    class Meta:
        verbose_name = _("saved A1111 option")
        verbose_name_plural = _("saved A1111 options")

    def __str__(self) -> str:
        return f"{self.name} = {self.value!r}"


class ClientChoice(models.Model):
    """What one A1111 caller chose with ``POST /sdapi/v1/options`` (A1111 has one user, so its
    options are that user's): its model and VAE for its later calls. ``identity`` is the caller
    (a1111.identity: a user, or a client key). The venue's default model changes only in the admin."""

    identity = models.CharField(max_length=40, unique=True)
    model = models.CharField(max_length=300, blank=True, default="")  # a library pipeline's name ("" = the venue's default)
    vae = models.CharField(max_length=300, blank=True, default="")  # "", "Automatic", "None" or a library VAE
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("A1111 client's choice")
        verbose_name_plural = _("A1111 clients' choices")

    def __str__(self) -> str:
        return f"{self.identity}: {self.model or '-'}"


class ClientJob(models.Model):
    """A job an A1111 call started: whose it is (the caller's identity, for progress, interrupt and
    pending tasks) and A1111's task id (``force_task_id``, else the job's id)."""

    job = models.OneToOneField("generation.GenerationJob", on_delete=models.CASCADE, related_name="a1111_call")
    identity = models.CharField(max_length=40, db_index=True)
    task_id = models.CharField(max_length=100, db_index=True)

    class Meta:
        verbose_name = _("A1111 call's job")
        verbose_name_plural = _("A1111 calls' jobs")

    def __str__(self) -> str:
        return f"{self.identity}: {self.task_id}"
