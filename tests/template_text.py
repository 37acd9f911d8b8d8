"""Text in a template that no translation tag covers (tests/config/test_template_text.py).

Django's template syntax is removed first: comments, {% translate %} and {% blocktranslate %}
(their words are in the catalogs), every other tag and every {{ variable }}. What is left is read as
HTML: a text node or a text attribute (alt, title, placeholder, aria-label…) that still holds a letter
of any script is text a visitor would read untranslated.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

TEXT_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "aria-roledescription", "aria-valuetext", "label"}
# <input> types whose value is shown as words (a radio's or a checkbox's value is never seen).
SHOWN_VALUE_TYPES = {"", "text", "search", "submit", "button", "reset"}
_TEMPLATE_SYNTAX = [
    re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S),
    # kiosk/base.html's body_class block fills <body class="…">: a CSS class, not words.
    re.compile(r"{%\s*block\s+body_class\s*%}.*?{%\s*endblock\s*(?:body_class\s*)?%}", re.S),
    re.compile(r"{#.*?#}", re.S),
    re.compile(r"{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}", re.S),
    re.compile(r"{%.*?%}", re.S),
    re.compile(r"{{.*?}}", re.S),
]


def _has_letter(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stray: list[str] = []
        self._raw = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._raw += 1
        for name, value in attrs:
            shown_value = name == "value" and tag == "input" and (dict(attrs).get("type") or "").lower() in SHOWN_VALUE_TYPES
            if value and (name in TEXT_ATTRIBUTES or shown_value) and _has_letter(value):
                self.stray.append(f"<{tag} {name}={value.strip()!r}>")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw:
            self._raw -= 1

    def handle_data(self, data):
        if not self._raw and _has_letter(data):
            self.stray.append(data.strip())


def stray_text(template: Path) -> list[str]:
    """The untranslated words a visitor would read in this template."""
    source = template.read_text(encoding="utf-8")
    for pattern in _TEMPLATE_SYNTAX:
        source = pattern.sub(" ", source)
    reader = _Reader()
    reader.feed(source)
    reader.close()
    return reader.stray
