"""A1111's LoRA syntax: ``<lora:name:weight>`` tags in a prompt, and the "name:weight, …" lists
that the admin's form and ``manage.py generate --lora`` take. Pure text; no library look-ups."""

from __future__ import annotations

import re

from django.utils.translation import gettext

# <lora:name> or <lora:name:weight> (A1111's extra-network syntax; the weight defaults to 1).
LORA_TAG = re.compile(r"<lora:([^:<>]+)(?::([^:<>]*))?>", re.IGNORECASE)


class LoraSyntaxError(ValueError):
    """A LoRA weight that is not a number; the message says how to write it."""


def extract_loras(prompt: str) -> tuple[str, tuple[tuple[str, float], ...]]:
    """``"a garden, <lora:ink:0.5>"`` → ``("a garden", (("ink", 0.5),))``: the tags taken out of the text."""
    found: list[tuple[str, float]] = []
    for match in LORA_TAG.finditer(prompt):
        name, weight = match.group(1).strip(), (match.group(2) or "").strip()
        try:
            found.append((name, float(weight) if weight else 1.0))
        except ValueError:
            message = gettext("LoRA %(name)s: the weight %(weight)s is not a number (<lora:name:0.8>).")
            raise LoraSyntaxError(message % {"name": repr(name), "weight": repr(weight)}) from None
    if not found:
        return prompt, ()
    text = LORA_TAG.sub(" ", prompt)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s*,(\s*,)+", ",", text)  # "a, <lora:x>, b" leaves no empty item behind
    text = re.sub(r"\s+,", ",", text)
    return text.strip().strip(",").strip(), tuple(found)


def parse_lora_list(text: str) -> tuple[tuple[str, float], ...]:
    """``"ink:0.5, watercolor"`` → ``(("ink", 0.5), ("watercolor", 1.0))``."""
    found = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, weight = item.rpartition(":") if ":" in item else (item, "", "")
        try:
            found.append((name.strip(), float(weight) if weight.strip() else 1.0))
        except ValueError:
            raise LoraSyntaxError(gettext("%(item)s: write name:weight, e.g. ink:0.6.") % {"item": repr(item)}) from None
    return tuple(found)
