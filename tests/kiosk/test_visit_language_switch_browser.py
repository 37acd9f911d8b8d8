"""Switching the kiosk's language mid-visit keeps the visit (issue 85, item 7), on a 390 px phone in
real Chromium filmed by the fake camera: the result, the favorite, the garden, the likes and the
visitor code survive the switch, and what the visitor does next counts for the same visitor."""

from __future__ import annotations

import pytest

from garden.visitors import visitor_code
from recommend.models import Interaction
from tests.kiosk.conftest import PHONE
from tests.kiosk.test_garden_browser import FAVORITE, capture, choose_favorite, like_button, open_kiosk, seed_garden, wait_until

# The garden's pictures (a liked one also shows its QR code, another <img>).
THREE_IMAGES = "() => document.querySelectorAll('#garden img[data-key]').length === 3"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPRESSIONS_KO = {
    "HAPPY": "행복",
    "SURPRISED": "놀람",
    "CALM": "평온",
    "ANGRY": "화남",
    "FEAR": "두려움",
    "CONFUSED": "혼란",
    "DISGUSTED": "혐오",
    "SAD": "슬픔",
}


def clicks():
    return Interaction.objects.filter(event_type=Interaction.Event.CLICK)


@pytest.fixture
def browser_context_args() -> dict:
    return dict(PHONE)


def pictures(page) -> list[str]:
    return page.eval_on_selector_all("#garden img[data-key]", "imgs => imgs.map(i => i.dataset.key)")


def switch_to(page, code: str) -> None:
    with page.expect_navigation():
        page.click(f'.language-switch button[value="{code}"]')
    page.wait_for_function(f"() => document.documentElement.lang === '{code}'")


def test_a_language_switch_mid_visit_keeps_the_visit(live_server, page):
    seed_garden()
    open_kiosk(page, live_server)
    choose_favorite(page)
    result, _headers = capture(page)
    page.wait_for_function(THREE_IMAGES)
    page.wait_for_selector("#visitor-code:not([hidden])")
    first_screen = pictures(page)
    liked = first_screen[0]
    like_button(page, liked).click()
    wait_until(lambda: clicks().filter(item_key=liked).exists(), message="the first like")

    switch_to(page, "ko")

    # The result, in Korean now; the favorite as chosen; the same visitor code.
    page.wait_for_selector("#emotion-result:not([hidden])")
    assert page.inner_text("#result-emotion") == EXPRESSIONS_KO[result["emotions"]]
    assert page.get_attribute("#capture-state", "data-state") == "ok"
    season, weather, time_of_day = FAVORITE.split(",")
    assert [page.input_value(s) for s in ("#favorite-season", "#favorite-weather", "#favorite-time")] == [season, weather, time_of_day]
    page.wait_for_selector("#visitor-code:not([hidden])")
    assert visitor_code(result["id"]) in page.inner_text("#visitor-code")
    # The garden again, with the like shown where the liked picture is on screen.
    page.wait_for_function(THREE_IMAGES)
    again = pictures(page)
    if liked in again:
        assert like_button(page, liked).get_attribute("aria-pressed") == "true"

    # The next like is the same visitor's, and so is the next capture.
    other = next(key for key in again if key != liked)
    like_button(page, other).click()
    second = wait_until(lambda: clicks().filter(item_key=other).first(), message="the like after the switch")
    assert str(second.visitor_id) == result["id"]
    assert {str(v) for v in clicks().values_list("visitor_id", flat=True)} == {result["id"]}
    answer, headers = capture(page)
    assert headers.get("x-user-id") == result["id"] and answer["id"] == result["id"]


def test_new_visitor_after_a_switch_starts_over(live_server, page):
    """What the switch kept is taken once: New visitor (and the idle reset) forget it, and a reload
    after that does not bring the previous visitor back."""
    seed_garden()
    open_kiosk(page, live_server)
    choose_favorite(page)
    capture(page)
    page.wait_for_function(THREE_IMAGES)
    switch_to(page, "ja")
    page.wait_for_selector("#emotion-result:not([hidden])")
    page.wait_for_function(THREE_IMAGES)
    page.click("#new-visitor")
    page.wait_for_function("() => document.getElementById('emotion-result').hidden")
    page.reload()
    page.wait_for_function("() => !document.getElementById('capture-button').disabled")
    assert page.locator("#emotion-result").is_hidden()
    assert page.input_value("#favorite-season") == ""


# Korean words whole, never "보여 주세 / 요"; Japanese by phrases, with the strict rules, no "絵" alone.
BREAKS = """() => { const s = getComputedStyle(document.getElementById('privacy-notice'));
  return {wordBreak: s.wordBreak, lineBreak: s.lineBreak, textWrap: s.textWrapStyle || s.textWrap}; }"""


@pytest.mark.parametrize(
    ("code", "wanted"), [("ko", {"wordBreak": "keep-all"}), ("ja", {"wordBreak": "auto-phrase", "lineBreak": "strict"})]
)
def test_korean_and_japanese_break_between_words_on_a_phone(live_server, page, code, wanted):
    open_kiosk(page, live_server, f"/{code}/kiosk/")
    breaks = page.evaluate(BREAKS)
    assert {name: breaks[name] for name in wanted} == wanted, breaks
    # Every word of the notice stays on one line: no Korean word cut at the line's end.
    if code == "ko":
        cut = page.evaluate(
            """() => { const el = document.getElementById('privacy-notice'); const cut = [];
            const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              const re = /\\S+/g; let m;
              while ((m = re.exec(node.data))) {
                const r = document.createRange();
                r.setStart(node, m.index);
                r.setEnd(node, m.index + m[0].length);
                const tops = new Set([...r.getClientRects()].map((b) => Math.round(b.top))); if (tops.size > 1) { cut.push(m[0]); } } }
            return cut; }"""
        )
        assert not cut, f"Korean words cut across lines: {cut}"
