"""A1111 prompt styles (``styles: ["name", …]`` in txt2img and img2img bodies).

The styles are ``a1111.models.PromptStyle`` rows, edited in the admin. A1111's rule
(modules/styles.py, ``merge_prompts``): a style text containing ``{prompt}`` has it replaced by the
prompt so far; any other style text is appended after ", " (an empty prompt or style adds no
comma). Styles apply in the order given, the negative prompt alike.
"""

from __future__ import annotations

from a1111.models import PromptStyle
from generation.requests import JobParameterError

PLACEHOLDER = "{prompt}"


def merge_prompt(style_text: str, prompt: str) -> str:
    if PLACEHOLDER in style_text:
        return style_text.replace(PLACEHOLDER, prompt)
    return ", ".join(part for part in (prompt.strip(), style_text.strip()) if part)


def style_names(value, field_name: str = "styles") -> list[str]:
    """The body's ``styles``: a list of names (None or [] = none), or a 400 naming the field."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise JobParameterError(fields={field_name: "styles must be a list of style names."})
    return [name for name in value if name.strip()]


def apply_styles(prompt: str, negative: str, names) -> tuple[str, str]:
    """(prompt, negative) with the named styles applied in order; an unknown name is a 400 naming it."""
    names = style_names(names)
    if not names:
        return prompt, negative
    found = {style.name: style for style in PromptStyle.objects.filter(name__in=names)}
    unknown = [name for name in names if name not in found]
    if unknown:
        known = ", ".join(PromptStyle.objects.values_list("name", flat=True)[:50]) or "none defined (admin: Prompt styles)"
        raise JobParameterError(fields={"styles": f"Unknown style {', '.join(map(repr, unknown))}: known styles are {known}."})
    for name in names:
        prompt = merge_prompt(found[name].prompt, prompt)
        negative = merge_prompt(found[name].negative_prompt, negative)
    return prompt, negative
