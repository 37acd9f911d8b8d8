"""A curator's whole session in real headless Chromium: generate → review by keyboard → promote → kiosk."""

import json
import urllib.request

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model

from curation import services
from garden.models import Image
from tests.curation.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def kiosk_garden(live_server, search_key):
    request = urllib.request.Request(
        live_server.url + "/gardenfromDB", data=json.dumps({"id": "k1", "emotion": search_key}).encode(), method="POST"
    )
    request.add_header("Content-Type", "text/plain")  # old kiosk pages post JSON as text
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_generate_review_promote_and_the_kiosk_sees_it(live_server, page, eager_celery):
    user = get_user_model().objects.create_user(username="cleo", password=PASSWORD)
    services.make_curator(user=user)

    page.goto(live_server.url + "/admin/login/?next=/admin/generation/generationjob/add/")
    page.fill("#id_username", "cleo")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    # 1. Generate: 2 indexes x (landscape + portrait), procedural painter, run inline.
    page.uncheck("input[name=emotion][value=happy]")
    page.check("input[name=emotion][value=calm]")
    page.select_option("#id_season", "summer")
    page.select_option("#id_weather", "sunny")
    page.select_option("#id_time", "sunset")
    page.fill("#id_repeat_count", "2")
    page.select_option("#id_resolution", "768x512")
    page.fill("#id_steps", "5")
    page.fill("#id_seed", "3")
    page.select_option("#id_backend", "procedural")
    page.click("#generate-submit")
    page.wait_for_selector("text=Started job")
    assert Image.objects.filter(status="pool").count() == 4

    # 2. Open the job, then its batch on the review page.
    page.click("#result_list tbody tr th a")
    page.click("text=Review this batch >> nth=0")
    page.wait_for_selector("#review[data-ready='1']")
    assert page.inner_text("#left-count") == "4"
    order = [int(x) for x in page.eval_on_selector_all("#grid li", "els => els.map(e => e.dataset.id)")]

    # 3. Keyboard: keep, reject, reject, undo (un-reject), keep, keep.
    for key in ("k", "x", "x", "u", "k", "k"):
        page.keyboard.press(key)
    page.wait_for_selector("#review[data-inflight='0']", state="attached")
    page.wait_for_function("() => document.getElementById('left-count').textContent === '0'")
    assert page.inner_text("#kept-count") == "3"
    states = {i.pk: (i.status, i.kept) for i in Image.objects.all()}
    assert [states[pk] for pk in order] == [("pool", True), ("rejected", False), ("pool", True), ("pool", True)]

    # 4. Promote the keepers (with confirmation).
    page.click("#promote-kept")
    page.click("#confirm-promote")
    page.wait_for_selector("text=Promoted 3 images.")
    kept = {pk for pk in order if states[pk][1]}
    assert set(Image.objects.filter(status="serving").values_list("pk", flat=True)) == kept

    # 5. The kiosk sees them at once, under emotions/… keys.
    garden = kiosk_garden(live_server, "calm/summer,sunny,sunset")
    urls = [item["url"] for item in garden["landscape"] + garden["portrait"]]
    serving_keys = set(Image.objects.filter(status="serving").values_list("key", flat=True))
    assert len(urls) == 3 and all(key.startswith("emotions/calm/summer,sunny,sunset/") for key in serving_keys)
    assert {url[url.index("emotions") :] for url in urls} == serving_keys

    # Every step is in the admin log under the curator's name.
    messages = list(LogEntry.objects.filter(user=user).values_list("change_message", flat=True))
    assert any(m.startswith("Started bulk generation") for m in messages)
    assert messages.count("Promoted to serving") == 3 and "Undo: back to undecided" in messages
