"""Korean and Japanese labels render with the bundled "Garden Hangul" and "Garden Japanese" fonts in
real Chromium.

This machine may have NanumGothic or IPAexGothic installed system-wide, so "it renders" proves
nothing: the test asks Chromium which font actually drew each label (DevTools'
CSS.getPlatformFontsForNode) and checks that document.fonts loaded the bundled faces from the app's
static files. /ko/ and /ja/ pin the pages to Korean and Japanese.
"""

from __future__ import annotations

import pytest

from garden.hangul_font import is_hangul, is_japanese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (page, selector of an element whose text includes Korean, the face that should draw it)
LABELS = [
    ("/ko/kiosk/", ".site-title", "Bold"),  # 감정 정원, a bold heading
    ("/ko/kiosk/", "#favorite-hint", "Regular"),
    ("/ko/kiosk/", "#capture-button", "Bold"),  # buttons are font-weight 600 → the bold face
    ("/ko/kiosk/", "label[for=favorite-season]", "Bold"),
    ("/ko/kiosk/", "#garden-state .state-text", "Regular"),
    ("/ko/kiosk/emotion/", "#result-heading", "Bold"),
    ("/kiosk/", ".language-switch button[lang=ko]", "Regular"),  # 한국어 on an English page
]
# Japanese has one face: bold text is drawn from it, emboldened by the browser.
JAPANESE_LABELS = [
    ("/ja/kiosk/", ".site-title"),  # 感情の庭
    ("/ja/kiosk/", "#privacy-notice"),
    ("/ja/kiosk/", "#capture-button"),
    ("/ja/kiosk/emotion/", "#result-heading"),
    ("/kiosk/", ".language-switch button[lang=ja]"),  # 日本語 on an English page
]


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts Chromium used to draw the text inside ``selector`` (family, PostScript name, glyphs)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, f"no {selector}"
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return fonts


@pytest.mark.parametrize(("path", "selector", "style"), LABELS)
def test_korean_labels_are_drawn_with_the_bundled_font(live_server, page, path, selector, style):
    fetched = []
    page.on("response", lambda r: fetched.append((r.url, r.status)) if r.url.endswith(".woff2") else None)
    page.goto(live_server.url + path)
    page.evaluate("document.fonts.ready")
    text = page.inner_text(selector)
    hangul = [char for char in text if is_hangul(char)]
    assert hangul, f"{selector} has no Korean: {text!r}"

    fonts = platform_fonts(page, selector)
    used = {font["postScriptName"]: font for font in fonts}
    assert f"GardenHangul-{style}" in used, fonts
    bundled = used[f"GardenHangul-{style}"]
    assert bundled["familyName"] == "Garden Hangul" and bundled["isCustomFont"] is True
    assert bundled["glyphCount"] == len(hangul)  # every Korean character, and only those
    assert not any("Nanum" in font["familyName"] for font in fonts), fonts  # the system's copy drew nothing

    assert page.evaluate("document.fonts.check('16px \"Garden Hangul\"', '감정 정원')")
    assert all(url.startswith(live_server.url + "/static/kiosk/fonts/") and status == 200 for url, status in fetched), fetched
    assert fetched, "no bundled font was fetched"


@pytest.mark.parametrize(("path", "selector"), JAPANESE_LABELS)
def test_japanese_labels_are_drawn_with_the_bundled_font(live_server, page, path, selector):
    page.goto(live_server.url + path)
    page.evaluate("document.fonts.ready")
    text = page.inner_text(selector)
    japanese = [char for char in text if is_japanese(char)]
    assert japanese, f"{selector} has no Japanese: {text!r}"
    fonts = platform_fonts(page, selector)
    used = {font["postScriptName"]: font for font in fonts}
    assert "GardenJapanese-Regular" in used, fonts
    bundled = used["GardenJapanese-Regular"]
    assert bundled["familyName"] == "Garden Japanese" and bundled["isCustomFont"] is True
    assert bundled["glyphCount"] == len(japanese)
    assert not any("IPA" in font["familyName"] for font in fonts), fonts


def test_both_faces_load_on_the_garden_page(live_server, page):
    page.goto(live_server.url + "/ko/kiosk/")
    page.evaluate("document.fonts.ready")
    faces = page.evaluate(
        """() => [...document.fonts].filter(f => f.family.replace(/"/g, '') === 'Garden Hangul')
                 .map(f => f.weight + ':' + f.status)"""
    )
    assert sorted(faces) == ["400:loaded", "700:loaded"]
