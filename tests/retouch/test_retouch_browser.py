"""The staff retouch page in real Chromium against the real API (session + CSRF): open a garden
image, drag the rectangle, paint the mask, submit, follow the progress, see and keep the result.

No broker: enqueueing is recorded, and the test runs the job itself on the tiny model through the
service a Celery worker calls, while the page polls the job API.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from PIL import Image

from generation.models import GenerationJob
from generation.worker import runner
from retouch import imaging
from retouch.uploads import read_upload
from tests.browser import assert_ai_labelled
from tests.retouch.retouch_support import encoded, garden_image, noise, outside_feather, stored_pixels

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def enqueued(monkeypatch):
    sent = []
    monkeypatch.setattr("generation.dispatch.enqueue.enqueue_job", lambda *, job_id, queue, background=False: sent.append(str(job_id)))
    return sent


@pytest.fixture
def staff_page(page, live_server, django_user_model):
    user = django_user_model.objects.create_user("retoucher", password="pw-retoucher-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_image"))  # "keep in pool" is a curator's decision
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}]
    )
    yield page
    page.goto("about:blank")  # stop the page's polling before the database is flushed


def drag(page, box, scale, start, end):
    page.mouse.move(box["x"] + start[0] * scale, box["y"] + start[1] * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * scale, box["y"] + end[1] * scale, steps=6)
    page.mouse.up()


def rect_inputs(page) -> list[int]:
    return [int(page.input_value(f"#rt-{name}")) for name in "xywh"]


def test_retouch_page_rectangle_mask_submit_progress_result(live_server, staff_page, retouch_settings, enqueued):
    page = staff_page
    source = garden_image(noise(192, 128, seed=1))
    page.goto(f"{live_server.url}/kiosk/retouch/?image={source.pk}")
    page.wait_for_selector('#rt-canvas[data-ready="true"]')
    assert page.is_hidden(".rt-feature[data-feature='tags']") and page.is_hidden(".rt-feature[data-feature='reference']")
    box = page.locator("#rt-canvas").bounding_box()
    scale = box["width"] / 192

    drag(page, box, scale, (40, 20), (150, 110))  # the rectangle tool is selected first
    assert rect_inputs(page) == [40, 20, 110, 90]
    page.focus("#rt-canvas")
    page.keyboard.press("ArrowRight")  # keyboard: move by 8 px
    page.keyboard.press("Shift+ArrowDown")  # resize by 8 px
    assert rect_inputs(page) == [48, 20, 110, 98]
    page.keyboard.press("b")  # the brush
    assert page.is_checked("input[name='rt-tool'][value='brush']")
    drag(page, box, scale, (85, 55), (110, 70))

    page.fill("#rt-prompt", "a red flower")
    page.eval_on_selector("#rt-strength", "el => { el.value = '0.75'; el.dispatchEvent(new Event('input')); }")
    assert page.inner_text("#rt-strength-out") == "0.75"
    page.fill("#rt-steps", "4")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/jobs") and r.request.method == "POST") as info:
        page.click("#rt-submit")
    assert info.value.status == 202, info.value.text()
    page.wait_for_function("() => document.getElementById('rt-state').textContent.includes('Queued')")
    assert page.is_visible("#rt-cancel")

    job = GenerationJob.objects.get()
    assert enqueued == [str(job.pk)]
    assert (job.kind, job.prompt, job.steps_total, job.retouch_job.options["rect"], job.retouch_job.options["image_id"]) == (
        "retouch",
        "a red flower",
        3,
        [48, 20, 110, 98],
        source.pk,
    )
    assert set(job.retouch_job.uploads) == {"mask"}  # the source is the garden image, not an upload

    runner.execute_job(job_id=job.pk, worker="browser-test")  # the "worker"
    page.wait_for_selector('#rt-state[data-state="done"]')
    assert page.get_attribute("#rt-progress", "value") == "100"
    job.refresh_from_db()
    result = job.images.get()
    page.wait_for_selector("#rt-compare:not([hidden])")
    assert page.get_attribute("#rt-after", "src").endswith(result.key)
    assert page.get_attribute("#rt-before", "src").endswith(source.key)
    page.wait_for_function("() => document.getElementById('rt-after').complete")
    # The label in the page's language (English here; the Japanese page: test_retouch_page_in_japanese).
    assert_ai_labelled(page.locator("#rt-after"), page.locator("#rt-compare .ai-label"), name="AI-generated", words=("AI-generated",))
    page.fill("#rt-compare-slider", "20")
    assert "20%" in page.eval_on_selector("#rt-after", "el => el.style.clipPath")

    # Pixels outside the painted mask's feathered edge are the source's, decoded.
    mask = imaging.mask_array(imaging.open_image(read_upload(job.retouch_job.uploads["mask"]), max_pixels=10**6), (192, 128))
    assert 300 < mask.sum() < 6000
    outside = outside_feather(job.retouch_job.options, mask)
    assert (stored_pixels(result.key)[outside] == stored_pixels(source.key)[outside]).all()
    assert not np.array_equal(stored_pixels(result.key), stored_pixels(source.key))

    page.click("#rt-keep")
    page.wait_for_function("() => document.getElementById('rt-state').textContent.includes('Kept')")
    result.refresh_from_db()
    assert result.kept and result.source == source
    assert page.is_hidden("#rt-cancel") and not page.is_disabled("#rt-submit")


def test_retouch_page_shows_what_is_not_configured(live_server, staff_page, retouch_settings):
    retouch_settings.GARDEN_GENERATOR_BACKEND = "procedural"
    page = staff_page
    page.goto(f"{live_server.url}/kiosk/retouch/")
    page.wait_for_selector("#rt-unavailable:not([hidden])")
    assert "GARDEN_RETOUCH_INPAINT_MODEL" in page.inner_text("#rt-unavailable")
    assert page.is_disabled("#rt-submit") and page.is_hidden(".rt-feature[data-feature='edges']")


def test_retouch_page_edges_tags_and_reference(live_server, staff_page, retouch_settings, retouch_models, enqueued):
    retouch_settings.GARDEN_RETOUCH_LINEART_CONTROLNET = str(retouch_models["lineart"])
    retouch_settings.GARDEN_RETOUCH_IP_ADAPTER = str(retouch_models["ip_adapter"])
    retouch_settings.GARDEN_RETOUCH_TAGGER_MODEL = str(retouch_models["tagger"])
    page = staff_page
    page.goto(f"{live_server.url}/kiosk/retouch/")
    page.set_input_files(
        "#rt-upload", files=[{"name": "red.png", "mimeType": "image/png", "buffer": encoded(Image.new("RGB", (120, 80), (230, 20, 20)))}]
    )
    page.wait_for_selector('#rt-canvas[data-ready="true"]')

    page.click("#rt-tags-button")
    chip = page.locator(".rt-chip", has_text="red flower")
    chip.wait_for()
    page.fill("#rt-prompt", "masterpiece")
    chip.click()
    assert page.input_value("#rt-prompt") == "masterpiece, red flower" and chip.is_disabled()

    with page.expect_response(lambda r: r.url.endswith("/api/v1/retouch/edges")) as edges:
        page.click("#rt-detect")
    assert edges.value.status == 200 and edges.value.headers["content-type"] == "image/png"
    page.wait_for_selector("label.rt-edge-only:not([hidden])")
    assert page.is_checked("#rt-use-edges")
    page.focus("#rt-canvas")
    page.keyboard.press("p")  # the edge pen: draw a line the model should follow
    box = page.locator("#rt-canvas").bounding_box()
    drag(page, box, box["width"] / 120, (10, 40), (110, 40))
    page.check("#rt-use-reference")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/jobs") and r.request.method == "POST") as info:
        page.click("#rt-submit")
    assert info.value.status == 202, info.value.text()
    job = GenerationJob.objects.get()
    assert set(job.retouch_job.uploads) == {"source", "control-0"}  # no mask painted: the whole rectangle
    assert job.retouch_job.options["controls"][0]["type"] == "lineart" and job.retouch_job.options["reference"]["scale"] == 0.6
    edited = np.asarray(imaging.open_image(read_upload(job.retouch_job.uploads["control-0"]), max_pixels=10**6).convert("L"))
    assert edited.shape == (80, 120) and (edited[40, 20:100] > 200).all()  # the pen stroke is in the edge map


def test_retouch_page_in_japanese(live_server, staff_page, retouch_settings, enqueued):
    """The page opened by a browser asking for Japanese: its words, the script's, the numbers and the label."""
    page = staff_page
    page.context.set_extra_http_headers({"Accept-Language": "ja"})
    source = garden_image(noise(96, 64, seed=3))
    page.goto(f"{live_server.url}/kiosk/retouch/?image={source.pk}")
    page.wait_for_selector('#rt-canvas[data-ready="true"]')
    assert page.get_attribute(".rt-layout", "lang") == "ja"
    assert page.inner_text("#rt-settings-heading") == "設定"
    assert page.inner_text("#rt-state") == "まだジョブはありません。"
    page.wait_for_function("() => document.getElementById('rt-pool').textContent.includes('ワーカー')")
    assert page.inner_text("#rt-pool").startswith("GPU プール：応答中のワーカー 0 台 · 待機 0 件 · 実行中 0 件")

    page.fill("#rt-steps", "4")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/jobs") and r.method == "POST") as sent:
        page.click("#rt-submit")
    assert sent.value.headers["accept-language"] == "ja"
    page.wait_for_function("() => document.getElementById('rt-state').textContent.includes('待機中')")

    job = GenerationJob.objects.get()
    runner.execute_job(job_id=job.pk, worker="browser-test")
    page.wait_for_selector('#rt-state[data-state="done"]')
    assert page.inner_text("#rt-state") == "完了：画像 1 枚。"
    page.wait_for_function("() => document.getElementById('rt-after').complete")
    assert_ai_labelled(page.locator("#rt-after"), page.locator("#rt-compare .ai-label"), name="AI生成", words=("AI生成",))
    page.click("#rt-keep")
    page.wait_for_function("() => document.getElementById('rt-state').textContent.includes('プールに残しました')")
