"""The keyboard review page in real headless Chromium: keep, reject, undo, auto-advance, buttons."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model

from curation import services
from garden.models import Image
from tests.curation.conftest import PASSWORD
from tests.factories import ImageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username):
    page.goto(live_server.url + "/admin/login/?next=/admin/garden/image/review/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#review[data-ready='1']")


def settled(page):
    page.wait_for_selector("#review[data-inflight='0']", state="attached")


def status_of(pk):
    image = Image.objects.get(pk=pk)
    return "rejected" if image.status == "rejected" else "kept" if image.kept else "pending"


KEPT_MARK = """(li) => { const after = getComputedStyle(li, '::after'), own = getComputedStyle(li);
  return {content: after.content, background: after.backgroundColor, color: after.color,
          size: parseFloat(after.fontSize), frame: own.borderTopColor}; }"""


def test_review_with_keyboard_and_undo(live_server, page):
    user = get_user_model().objects.create_user(username="cora", password=PASSWORD)
    services.make_curator(user=user)
    # Newest first on the page: make them oldest → newest so ids[0] is shown last.
    images = [ImageFactory(status=Image.Status.POOL, emotion="happy", seed=i) for i in range(5)]
    shown = list(reversed([i.pk for i in images]))

    login(page, live_server, "cora")
    assert page.inner_text("#left-count") == "5"
    assert page.get_attribute("#review", "data-current-id") == str(shown[0])

    page.keyboard.press("k")  # keep the first; auto-advance to the second
    assert page.get_attribute("#review", "data-current-id") == str(shown[1])
    # The kept mark reads at a glance (issue 63: a tiny tick): a labelled badge, white on green, and a green frame.
    mark = page.locator(f"#grid li[data-id='{shown[0]}']").evaluate(KEPT_MARK)
    assert mark["content"] == '"✓ kept"' and mark["background"] == "rgb(46, 125, 50)" and mark["color"] == "rgb(255, 255, 255)", mark
    assert mark["size"] >= 14 and mark["frame"] == "rgb(46, 125, 50)", mark
    page.keyboard.press("x")  # reject the second
    page.keyboard.press("x")  # reject the third
    settled(page)
    assert [status_of(pk) for pk in shown[:3]] == ["kept", "rejected", "rejected"]
    page.wait_for_function("() => document.getElementById('left-count').textContent === '2'")

    page.keyboard.press("u")  # undo the last reject: the third is back to undecided and selected
    settled(page)
    assert status_of(shown[2]) == "pending"
    assert page.get_attribute("#review", "data-current-id") == str(shown[2])
    page.keyboard.press("z")  # undo again: the second is un-rejected
    settled(page)
    assert status_of(shown[1]) == "pending"
    assert page.locator(f"#grid li[data-id='{shown[1]}']").get_attribute("class").split()[0] == "is-pending"

    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#review", "data-current-id") == str(shown[2])
    page.keyboard.press("ArrowLeft")
    page.click("button[data-act='reject']")  # the mouse works too
    settled(page)
    assert status_of(shown[1]) == "rejected"
    page.click(f"#grid li[data-id='{shown[4]}']")
    page.click("button[data-act='keep']")
    settled(page)
    assert status_of(shown[4]) == "kept"
    page.wait_for_function("() => document.getElementById('left-count').textContent === '2'")
    assert page.inner_text("#kept-count") == "2"
    assert "Saved" in page.inner_text("#review-status")
    # Every decision is in the admin log under the curator's name.
    assert LogEntry.objects.filter(user=user).count() == 7


def test_plain_staff_cannot_open_review(live_server, page):
    get_user_model().objects.create_user(username="sam", password=PASSWORD, is_staff=True)
    page.goto(live_server.url + "/admin/login/?next=/admin/garden/image/review/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    assert page.locator("#review").count() == 0
    assert "403" in page.title() or "Forbidden" in page.content()
