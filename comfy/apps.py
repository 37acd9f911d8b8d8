from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ComfyConfig(AppConfig):
    """The ComfyUI-compatible door (docs/comfyui.md): its prompts (ComfyPrompt), graph compiler and server."""

    name = "comfy"
    verbose_name = gettext_lazy("ComfyUI-compatible API")
