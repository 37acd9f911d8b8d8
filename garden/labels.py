"""The "AI-generated" label that every generated picture carries where visitors see it (issue 39).

The wording is ``GARDEN_AI_LABEL``, a mapping of language code → text (docs/kiosk.md, "AI-generated
label"). A missing, empty or blank entry falls back to the default wording here: the label can be
reworded but never switched off (the share page, the kiosk garden, the signage page, the
text-to-image results and the retouch result all show it). ``manage.py check`` warns about a blank
entry (garden.W101), since it is replaced by the default.

Templates get ``ai_label`` from the context processor below: ``ai_label.en``, ``ai_label.ko``,
``ai_label.ja``, ``ai_label.current`` (the page's language) and ``ai_label.text`` (the page's
language, then GARDEN_SECOND_LANGUAGE's after " · " when set: docs/languages.md). Scripts read the
same words from the ``data-ai-label-*`` attributes of ``<body>`` (or the signage root).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning
from django.utils import translation

from garden.languages import second_language

# Korean and Japanese are the kiosk's and the retouch page's other languages. The Korean words use
# only syllables the bundled Hangul subset already has (garden/hangul_font.py).
DEFAULT_AI_LABEL: dict[str, str] = {"en": "AI-generated", "ko": "AI 생성 그림", "ja": "AI生成"}
LANGUAGES = tuple(DEFAULT_AI_LABEL)


def _configured() -> Mapping[str, object]:
    value = getattr(settings, "GARDEN_AI_LABEL", None)
    return value if isinstance(value, Mapping) else {}


def label_text(language: str) -> str:
    """The label in ``language`` (en, ko or ja): the setting's words, or the default where blank."""
    value = _configured().get(language)
    text = " ".join(value.split()) if isinstance(value, str) else ""
    return text or DEFAULT_AI_LABEL[language]


@dataclass(frozen=True)
class AiLabel:
    en: str
    ko: str
    ja: str

    def _in(self, language: str) -> str:
        code = (language or "").split("-")[0]
        return getattr(self, code) if code in LANGUAGES else self.en

    @property
    def current(self) -> str:
        """The label in the page's language (the active translation)."""
        return self._in(translation.get_language())

    @property
    def second(self) -> str:
        """The label in GARDEN_SECOND_LANGUAGE, or "" when none is shown."""
        second = second_language()
        return self._in(second) if second else ""

    @property
    def text(self) -> str:
        """The form pictures' alt text starts with: "AI-generated", or "AI-generated · AI 생성 그림"
        with Korean as the second language."""
        return f"{self.current} · {self.second}" if self.second else self.current


def ai_label() -> AiLabel:
    return AiLabel(**{language: label_text(language) for language in LANGUAGES})


def context(request) -> dict[str, AiLabel]:
    """Template context processor (config/settings.py, TEMPLATES): ``{{ ai_label.text }}`` and co."""
    return {"ai_label": ai_label()}


@register("garden")
def blank_ai_label(app_configs=None, **kwargs) -> list[CheckMessage]:
    """garden.W101: a blank or unknown entry in GARDEN_AI_LABEL (the default wording is used instead)."""
    raw = getattr(settings, "GARDEN_AI_LABEL", None)
    if not isinstance(raw, Mapping):
        return [
            CheckWarning(
                f"GARDEN_AI_LABEL is {type(raw).__name__}, not a mapping of language → text: the default labels are shown.",
                hint=f"Set it to a dict with the keys {', '.join(LANGUAGES)} (docs/kiosk.md, 'AI-generated label').",
                id="garden.W101",
            )
        ]
    messages: list[CheckMessage] = []
    for language in LANGUAGES:
        value = raw.get(language)
        if not isinstance(value, str) or not value.strip():
            messages.append(
                CheckWarning(
                    f"GARDEN_AI_LABEL[{language!r}] is blank: the pages show the default {DEFAULT_AI_LABEL[language]!r} instead.",
                    hint="The AI-generated label cannot be switched off; reword it rather than empty it.",
                    id="garden.W101",
                )
            )
    unknown = sorted(set(map(str, raw)) - set(LANGUAGES))
    if unknown:
        messages.append(
            CheckWarning(
                f"GARDEN_AI_LABEL has entries no page shows: {', '.join(unknown)}.",
                hint=f"The pages use {', '.join(LANGUAGES)}.",
                id="garden.W102",
            )
        )
    return messages
