"""Issue 20, item 5 in real headless Chromium: the coverage grid (its colours, its sticky header, the
empty gardens of a real /garden answer), the headline numbers, and the prune list's pictures and
Demote (confirmation page, back to the dashboard with a message), with no CSP violation."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from config import caches
from curation import services as curation_services
from garden.keys import EMOTIONS
from garden.models import Image
from garden.templatetags.garden_labels import emotion_label
from insights import services
from recommend.models import Interaction
from tests.factories import ImageFactory, VisitorFactory
from tests.insights.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""
BACKGROUND = "(element) => getComputedStyle(element).backgroundColor"


@pytest.fixture
def browser_context_args():
    return {"viewport": {"width": 1366, "height": 768}}


@pytest.fixture
def garden_data(settings):
    settings.INSIGHTS_TARGET_PER_KEY = 3
    caches.reset_all(rows_only=True)
    liked = [ImageFactory(emotion="happy", favorite="spring,sunny,day") for _ in range(3)]  # at the target
    weak = ImageFactory(emotion="happy", favorite="")  # under it
    ImageFactory(emotion="sad", favorite="autumn,rainy,night")  # a favorite kiosks never send
    kiosk = Client()
    for _ in range(2):  # nothing serves for angry: two empty gardens
        assert kiosk.post("/garden", {"id": "kiosk-1", "emotion": "angry"}, content_type="application/json").status_code == 200
    visitor = VisitorFactory()
    screen = [image.key for image in liked] + [weak.key]
    for image in liked:
        for _ in range(4):
            Interaction.objects.create(visitor=visitor, event_type="click", image=image, item_key=image.key, impression=screen)
    for _ in range(6):
        Interaction.objects.create(visitor=visitor, event_type="impression", impression=[weak.key])
    for _ in range(8):  # one picture surely liked more than the rest (12 likes of 20 views, the garden 20 of 62)
        Interaction.objects.create(visitor=visitor, event_type="click", image=liked[0], item_key=liked[0].key, impression=[liked[0].key])
    services.refresh_rollups()
    user = get_user_model().objects.create_user(username="cura", password=PASSWORD)
    curation_services.make_curator(user=user)
    services.make_analyst(user=user)
    yield weak, liked[0]
    caches.reset_all(rows_only=True)


def test_coverage_grid_headline_and_prune_demote(live_server, page, garden_data):
    weak, best = garden_data
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server.url + "/admin/login/?next=/admin/insights/dashboard/")
    page.fill("#id_username", "cura")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#insights[data-ready='1']")

    # Headline: six cards, this period against the previous one.
    assert page.locator(".headline-card").count() == 6
    gardens = page.locator("#headline-gardens")
    assert gardens.locator(".headline-value").inner_text() == "2"
    assert gardens.locator(".headline-change").inner_text() == "▲ new"
    assert page.locator("#headline-empty .headline-change.is-worse").is_visible()

    # Coverage grid: visible, the emotions as columns, under-target cells highlighted.
    grid = page.locator("#coverage-grid")
    assert grid.is_visible()
    assert grid.locator("thead th").all_text_contents() == ["favorite", *(emotion_label(emotion) for emotion in EMOTIONS)]
    ok = grid.locator("tr[data-favorite='spring,sunny,day'] td[data-emotion='happy']")
    under = grid.locator("tr[data-favorite='any'] td[data-emotion='happy']")
    none = grid.locator("tr[data-favorite='any'] td[data-emotion='angry']")
    assert (ok.get_attribute("class"), ok.locator(".coverage-n").inner_text()) == ("coverage-cell is-ok", "3")
    assert (under.get_attribute("class"), under.locator(".coverage-n").inner_text()) == ("coverage-cell is-under", "1")
    assert none.get_attribute("class") == "coverage-cell is-none" and none.locator(".coverage-empty").inner_text() == "∅ 2"
    colours = {ok.evaluate(BACKGROUND), under.evaluate(BACKGROUND), none.evaluate(BACKGROUND)}
    assert len(colours) == 3 and "rgba(0, 0, 0, 0)" not in colours, colours
    assert page.locator("#coverage-under").inner_text() == str(8 * 65 - 1)
    # Scrolled to its last row (the favorite kiosks never send), the header row stays in view.
    box = page.locator(".coverage-scroll")
    box.evaluate("(element) => { element.scrollTop = element.scrollHeight; }")
    other = grid.locator("tr[data-favorite='autumn,rainy,night']")
    assert other.locator("th").inner_text().startswith("autumn,rainy,night") and other.is_visible()
    header, scroller = grid.locator("thead th").first.bounding_box(), box.bounding_box()
    assert abs(header["y"] - scroller["y"]) <= 2, (header, scroller)

    # The prune list: only what the evidence shows (issue 63: a picture with no like was "most liked", one
    # liked 4 times of 4 a prune candidate). The garden's rate is the bar; 4 likes of 12 views clear neither side.
    assert page.locator("#prune-rule").inner_text().startswith("All serving images shown so far were liked 32.3% of the time.")
    assert page.locator("#prune-best tbody tr").evaluate_all("rows => rows.map(r => r.dataset.image)") == [str(best.pk)]
    assert page.locator("#prune-worst tbody tr").evaluate_all("rows => rows.map(r => r.dataset.image)") == [str(weak.pk)]

    # The prune list: pictures large enough to judge, keys in a readable column, Demote.
    row = page.locator(f"#prune-worst tr[data-image='{weak.pk}']")
    row.scroll_into_view_if_needed()
    thumb = row.locator("img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.bounding_box()["width"] >= 120
    assert row.locator(".prune-key").bounding_box()["width"] >= 150  # not letter-wide
    assert row.locator(".prune-file").inner_text() == weak.key.rpartition("/")[2]
    row.locator("a.prune-demote").click()

    page.wait_for_selector("#confirm-demote")
    assert weak.key in page.locator("#demote-confirm").inner_text()
    assert Image.objects.get(pk=weak.pk).status == Image.Status.SERVING
    assert page.evaluate("() => window.__cspViolations") == []  # the confirmation page too
    page.click("#confirm-demote")
    page.wait_for_selector("#insights[data-ready='1']")
    assert page.url.startswith(live_server.url + "/admin/insights/dashboard/")
    message = page.locator("ul.messagelist li.success")
    assert message.inner_text().startswith("Demoted to the pool: imgPool/happy/")
    assert Image.objects.get(pk=weak.pk).status == Image.Status.POOL
    assert page.locator(f"#prune-worst tr[data-image='{weak.pk}']").count() == 0
    assert page.evaluate("() => window.__cspViolations") == []
