"""In real headless Chromium: a curator switches the admin to Japanese with the header's form, and
the review page's script speaks it too (its words come from the static JavaScript catalog)."""

import pytest
from django.contrib.auth import get_user_model

from curation import services
from garden.models import Image
from tests.curation.conftest import PASSWORD
from tests.factories import ImageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_curator_switches_to_japanese_and_reviews_in_it(live_server, page):
    user = get_user_model().objects.create_user(username="kana", password=PASSWORD)
    services.make_curator(user=user)
    images = [ImageFactory(status=Image.Status.POOL, emotion="calm", seed=i) for i in range(3)]
    page.goto(live_server.url + "/admin/login/?next=/curation/review/")
    page.fill("#id_username", "kana")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#review[data-ready='1']")
    assert page.get_attribute("html", "lang") == "en" and "Keep" in page.inner_text(".review-buttons")

    page.select_option("#admin-language", "ja")
    page.click("#admin-language-submit")
    page.wait_for_selector("#review[data-ready='1']")
    assert page.get_attribute("html", "lang") == "ja"
    assert "採用" in page.inner_text(".review-buttons") and "ログアウト" in page.inner_text("#user-tools")
    assert page.inner_text("#stage-state") == "未決定"  # written by review.js from the catalog

    page.keyboard.press("k")
    page.wait_for_selector("#review[data-inflight='0']", state="attached")
    page.wait_for_function("() => document.getElementById('review-status').textContent === '保存しました'")
    assert Image.objects.filter(pk__in=[i.pk for i in images], kept=True).count() == 1
    assert "シード" in page.inner_text("#stage-meta")
