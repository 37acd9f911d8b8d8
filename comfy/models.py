"""What the ComfyUI door keeps: each prompt a caller queued, its job and its graph (for ``/history``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ComfyPrompt(models.Model):
    """A ComfyUI prompt: whose it is (``identity``, as a1111.identity tells callers apart), the
    client's ``prompt_id`` and ``client_id`` (its websocket), the graph as sent (ComfyUI's history
    answers it back) and the job it was compiled onto. ``forgotten``: deleted from the caller's
    history (``POST /history``) while the job and its pictures stay the venue's."""

    job = models.OneToOneField("generation.GenerationJob", on_delete=models.CASCADE, related_name="comfy_prompt")
    identity = models.CharField(max_length=40)
    prompt_id = models.CharField(max_length=100)
    client_id = models.CharField(max_length=100, blank=True, default="")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    extra_data = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(default=list)  # the output nodes' ids, in the graph's order
    forgotten = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ComfyUI prompt")
        verbose_name_plural = _("ComfyUI prompts")
        constraints = [models.UniqueConstraint(fields=["identity", "prompt_id"], name="comfy_prompt_unique_per_caller")]
        indexes = [models.Index(fields=["identity", "forgotten", "number"], name="comfy_prompt_history")]

    def __str__(self) -> str:
        return f"{self.identity}: {self.prompt_id}"
