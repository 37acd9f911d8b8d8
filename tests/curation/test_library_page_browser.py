"""The model library's page walked as a new operator (issue 79, items 5, 6 and 8), in real headless
Chromium: an empty library says where its folder is and points to *Install a model*; the list left
open shows a model the folder gained, and the default model's folder moved away, without a reload by
hand (while a row is ticked it says so instead); the gone model is never listed usable, nor under
*usable: yes*; its actions say "model"; at 1280, 1400 and 2000 px the buttons cover no word of the
notes, and at 1400 the usable, default, live and present columns are on screen; axe-core finds
nothing on the list, a model's page or the install page.

The scans are the ones the folder's follower would run (library.services.follow.scan_now), made by
the test so that it need not wait GARDEN_LIBRARY_SCAN_SECONDS; the page's reload is its own.
"""

from __future__ import annotations

import json
import shutil

import pytest

from library.services import follow as library_follow
from tests.a11y import assert_accessible
from tests.accessibility.conftest import log_in
from tests.browser import open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST = "/admin/library/libraryentry/"
FOLLOWED = 15_000  # ms: the page polls every 3 s; a busy machine may be slow to reload


def diffusers_folder(folder) -> None:
    """A model as a diffusers folder, configs only: the list never loads weights."""
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))


def overlaps(one: dict, other: dict) -> bool:
    return not (
        one["x"] + one["width"] <= other["x"]
        or other["x"] + other["width"] <= one["x"]
        or one["y"] + one["height"] <= other["y"]
        or other["y"] + other["height"] <= one["y"]
    )


def check_layout(page, width: int) -> None:
    """No button over a note's words; the deciding columns inside the results' visible box."""
    page.set_viewport_size({"width": width, "height": 900})
    buttons = [page.locator(selector).bounding_box() for selector in ("#library-rescan", "#library-install")]
    for note in ("#library-default-problem", "#library-last-scan"):
        box = page.locator(note).bounding_box()
        assert box is not None, f"{note} is not shown at {width} px"
        for button in buttons:
            assert button is not None and not overlaps(button, box), f"a button covers {note} at {width} px: {button} {box}"
    if width >= 1400:
        shown = page.locator("#changelist .results").bounding_box()
        right = min(shown["x"] + shown["width"], width)
        for column in ("name", "can_paint", "is_default", "live", "present"):
            header = page.locator(f"#result_list th.column-{column}").bounding_box()
            assert header is not None and header["x"] >= shown["x"] - 1, column
            assert header["x"] + header["width"] <= right + 1, f"the {column} column is off-screen at {width} px: {header}, {shown}"


def test_an_operator_walks_the_library_page(live_server, browser, request, settings, tmp_path, django_user_model):
    models = tmp_path / "models"
    models.mkdir()
    settings.GARDEN_MODELS_DIR = str(models)
    operator = django_user_model.objects.create_superuser("operator", "operator@example.org", "pw-operator-1")

    with open_page(request, browser, {"viewport": {"width": 1400, "height": 900}}) as page:
        log_in(page, live_server, operator)
        library_follow.scan_now("start")  # the empty folder, as a starting process scans it
        page.goto(live_server.url + LIST)
        empty = page.locator("#library-empty")
        assert str(models) in empty.inner_text() and "Install a model" in empty.inner_text()
        assert empty.locator("a").get_attribute("href") == LIST + "install/"
        assert_accessible(page, where="the empty model library")

        # Models copied into the folder of the running stack: the open list shows them by itself.
        diffusers_folder(models / "garden-one")
        diffusers_folder(models / "garden-two")
        library_follow.scan_now("periodic")
        page.wait_for_selector("#result_list a:text-is('garden-two')", timeout=FOLLOWED)
        assert page.locator("#library-empty").count() == 0
        assert page.locator("#result_list tr:has(a:text-is('garden-one')) td.field-is_default img").get_attribute("alt") == "True"

        # The default model's folder moved away: before any scan, the row says so, and the banner.
        shutil.move(models / "garden-one", tmp_path / "garden-one-moved")
        gone = page.locator("#result_list tr:has(a:text-is('garden-one')) td.field-can_paint")
        gone.locator("img[alt='No']").wait_for(timeout=FOLLOWED)
        assert "its file garden-one is gone from the models folder" in gone.inner_text()
        library_follow.scan_now("periodic")  # the scan notices: present ✗, still not usable, and the banner
        page.wait_for_selector("#library-default-problem", timeout=FOLLOWED)
        page.wait_for_selector("#result_list tr:has(a:text-is('garden-one')) td.field-present img[alt='False']", timeout=FOLLOWED)
        assert "its file garden-one is gone" in gone.inner_text()
        assert "(one model)" in page.locator("select[name=action]").inner_text()
        assert "pipeline" not in page.locator("select[name=action]").inner_text()

        for width in (1280, 1400, 2000):
            check_layout(page, width)
        page.set_viewport_size({"width": 1400, "height": 900})
        assert_accessible(page, where="the model library")

        # While a row is ticked for an action the page does not reload under the operator: it says so.
        page.locator("#result_list tr:has(a:text-is('garden-two')) input.action-select").check()
        diffusers_folder(models / "garden-three")
        library_follow.scan_now("periodic")
        page.locator("#library-changed").wait_for(state="visible", timeout=FOLLOWED)
        assert page.locator("#result_list a:text-is('garden-three')").count() == 0
        page.locator("#result_list tr:has(a:text-is('garden-two')) input.action-select").uncheck()
        page.locator("body").click(position={"x": 5, "y": 300})  # out of the checkbox
        page.wait_for_selector("#result_list a:text-is('garden-three')", timeout=FOLLOWED)

        # usable: yes lists no model whose file is gone; its own page says why.
        page.goto(live_server.url + LIST + "?usable=1")
        names = page.locator("#result_list th.field-name a").all_inner_texts()
        assert sorted(names) == ["garden-three", "garden-two"]
        page.goto(live_server.url + LIST + "?usable=0")
        page.locator("#result_list th.field-name a:text-is('garden-one')").click()
        assert "its file garden-one is gone" in page.locator(".field-can_paint").inner_text()
        assert_accessible(page, where="a gone model's page")

        page.goto(live_server.url + LIST + "install/")
        page.wait_for_selector("#install-form")
        assert "model (diffusers folder)" in page.locator("#id_kind").inner_text()
        assert_accessible(page, where="the install page")
        page.goto("about:blank")  # stop the list's polling before the database is flushed
