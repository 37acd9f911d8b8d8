"""Every visitor template holds its words in translation tags (docs/languages.md)."""

from pathlib import Path

import pytest

from tests.template_text import stray_text

ROOT = Path(__file__).resolve().parents[2]
# Visitor-facing templates: each word a visitor reads must be in a catalog. Add a new page here.
VISITOR_TEMPLATES: list[str] = [
    "templates/kiosk/base.html",
    "templates/kiosk/public_base.html",
    "templates/kiosk/garden.html",
    "templates/kiosk/emotion.html",
    "templates/kiosk/share.html",
    "templates/kiosk/share_missing.html",
    "templates/kiosk/_camera.html",
    "templates/kiosk/_notice.html",
    "templates/kiosk/_result.html",
    "templates/kiosk/_ai_label.html",
    "templates/kiosk/_language_switch.html",
    "templates/displays/signage.html",
    "templates/kiosk/text2image.html",
    "templates/kiosk/text2image_job.html",
    "retouch/templates/kiosk/retouch.html",
    "screens/templates/screens/_beacon.html",
    "screens/templates/screens/_maintenance.html",
    "screens/templates/screens/enrol.html",
]


@pytest.mark.parametrize("name", VISITOR_TEMPLATES)
def test_visitor_template_has_no_text_outside_translation_tags(name):
    assert stray_text(ROOT / name) == []


def test_the_reader_finds_stray_words_in_text_and_attributes(tmp_path):
    template = tmp_path / "page.html"
    template.write_text(
        '{% load i18n %}<p>{% translate "Next" %}</p><p>{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}</p>'
        '{# a comment #}<p>{{ value }} · 12</p><script>const x = "words";</script>'
        '<p>Next · 다음</p><img alt="A picture"><button aria-label="{% translate "Like" %}"></button>'
        '{% block body_class %}page-garden{% endblock %}<input type="radio" value="brush"><input type="submit" value="Go">',
        encoding="utf-8",
    )
    assert stray_text(template) == ["Next · 다음", "<img alt='A picture'>", "<input value='Go'>"]
