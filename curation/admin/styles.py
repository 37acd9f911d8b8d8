"""Prompt styles in the admin: A1111's ``styles`` (name, prompt, negative prompt).

``txt2img``/``img2img`` calls name them in ``styles``; ``{prompt}`` in a style's text is replaced by
the request's prompt, else the text is appended after a comma (a1111.styles).
``GET /sdapi/v1/prompt-styles`` lists them for clients.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from a1111.models import PromptStyle


@admin.register(PromptStyle)
class PromptStyleAdmin(admin.ModelAdmin):
    list_display = ("name", "prompt", "negative_prompt")
    search_fields = ("name", "prompt", "negative_prompt")
    list_per_page = 100
    fieldsets = (
        (
            None,
            {
                "fields": ("name", "prompt", "negative_prompt"),
                "description": gettext_lazy(
                    "Write {prompt} where the request's prompt goes; without it the style is appended after a comma."
                ),
            },
        ),
    )
