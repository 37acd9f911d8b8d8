"""The review page keeps its large preview on screen through a long keyboard session.

Issue 20, item 4: at 1366x768, after ~25 decisions the page had scrolled to the thumbnail grid
(each move called scrollIntoView on the page) and the preview sat far above the screen. Here a
curator makes 40 decisions (keeps, rejects, an undo, row moves) at 1366x768 and 1920x1080 with
real-size 1280x800 pictures, and after every key the preview must lie wholly inside the viewport
at a useful size, the page must not have scrolled, and the current thumbnail must be visible in
the grid's own scrolling box.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image as PILImage

from curation import services
from garden import keys
from garden.models import Image
from garden.services import create_image
from garden.thumbnails import ensure_thumbnail
from tests.browser import open_page
from tests.curation.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGES = 70  # more than fit in the grid's box at either size, fewer than a page (100)
DECISIONS = 40
# (width, height) → the smallest acceptable preview height in CSS pixels.
VIEWPORTS = {(1366, 768): 400, (1920, 1080): 600}


def picture(n: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (1280, 800), ((n * 37) % 256, (n * 91) % 256, 120)).save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


def pool_images(count: int) -> list[int]:
    ids = []
    for n in range(count):
        timestr = keys.new_timestr(timezone.now())
        key = keys.build_key(prefix=keys.POOL_PREFIX, emotion="calm", favorite="", timestr=timestr, index=n, orientation=keys.LANDSCAPE)
        image = create_image(key=key, content=picture(n), status=Image.Status.POOL, width=1280, height=800, prompt=f"calm garden {n}")
        ensure_thumbnail(image=image)
        ids.append(image.pk)
    return ids


def check_preview(page, *, width: int, height: int, min_height: int, step: str) -> None:
    box = page.locator("#stage-img").bounding_box()
    assert box is not None, f"{step}: no preview"
    assert box["y"] >= 0 and box["x"] >= 0, f"{step}: preview starts off screen: {box}"
    assert box["y"] + box["height"] <= height + 0.5 and box["x"] + box["width"] <= width + 0.5, f"{step}: preview ends off screen: {box}"
    # The picture as drawn in its box (object-fit: contain) is loaded and tall enough to judge. The
    # next picture loads after the key press: give it up to 10 s on a busy machine (polled here,
    # not with wait_for_function, whose string predicate the Content-Security-Policy would block).
    for _ in range(100):
        natural = page.locator("#stage-img").evaluate("img => img.complete ? [img.naturalWidth, img.naturalHeight] : null")
        if natural == [1280, 800]:
            break
        page.wait_for_timeout(100)
    assert natural == [1280, 800], f"{step}: the picture is not loaded: {natural}"
    drawn = min(box["height"], box["width"] * natural[1] / natural[0])
    assert drawn >= min_height, f"{step}: the picture is drawn only {drawn:.0f} px tall"
    # The current thumbnail is inside the grid's visible box, and the buttons are on screen.
    grid = page.locator("#grid").bounding_box()
    current = page.locator("#grid li.is-current").bounding_box()
    assert current is not None and grid is not None
    inside = grid["y"] - 1 <= current["y"] and current["y"] + current["height"] <= grid["y"] + grid["height"] + 1
    assert inside, f"{step}: current thumbnail hidden"
    assert current["y"] + current["height"] <= height + 0.5, f"{step}: current thumbnail below the screen"
    keep = page.locator("button[data-act='keep']").bounding_box()
    assert keep is not None and keep["y"] >= 0 and keep["y"] + keep["height"] <= height, f"{step}: Keep button off screen"


@pytest.mark.parametrize("size", list(VIEWPORTS), ids=lambda size: f"{size[0]}x{size[1]}")
def test_preview_stays_on_screen_through_40_decisions(live_server, browser, request, size):
    width, height = size
    user = get_user_model().objects.create_user(username="cora", password=PASSWORD)
    services.make_curator(user=user)
    ids = pool_images(IMAGES)

    with open_page(request, browser, {"viewport": {"width": width, "height": height}}) as page:
        page.goto(live_server.url + "/admin/login/?next=/curation/review/")
        page.fill("#id_username", "cora")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#review[data-ready='1']")
        check_preview(page, width=width, height=height, min_height=VIEWPORTS[size], step="start")

        # Mostly keeps and rejects (auto-advance walks down the grid), with the other moves a
        # curator makes: a row down and back up, an undo, a skip.
        script = ["k", "x", "k", "k", "x", "ArrowDown", "ArrowUp", "k", "x", "u"]
        decisions = presses = undos = 0
        while decisions < DECISIONS:
            key = script[presses % len(script)]
            page.keyboard.press(key)
            presses += 1
            decisions += key in ("k", "x")
            undos += key == "u"
            step = f"after {presses} keys ({decisions} decisions)"
            check_preview(page, width=width, height=height, min_height=VIEWPORTS[size], step=step)
            assert page.evaluate("() => window.scrollY") == 0, f"the page scrolled after {presses} keys"
        page.wait_for_selector("#review[data-inflight='0']", state="attached")
        # Auto-advance went well past the first screen of thumbnails: the grid scrolled inside its box.
        assert page.locator("#grid").evaluate("grid => grid.scrollTop") > 0
        assert int(page.get_attribute("#review", "data-current")) >= 30  # deep into the page
        page.keyboard.press("End")
        check_preview(page, width=width, height=height, min_height=VIEWPORTS[size], step="End")
        page.keyboard.press("Home")
        check_preview(page, width=width, height=height, min_height=VIEWPORTS[size], step="Home")
    decided = Image.objects.filter(pk__in=ids).exclude(status=Image.Status.POOL, kept=False).count()
    assert decided == DECISIONS - undos  # every decision saved; each undo took one back
