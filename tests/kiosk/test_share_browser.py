"""The QR code on a liked image, decoded from Chromium's pixels, opens the share page (real Chromium).

The QR <img> is the server's SVG as Chromium draws it; the test screenshots that element and
decodes the PNG with zxing-cpp (a real QR decoder), then follows the URL it holds.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image as PILImage

from tests.browser import assert_ai_labelled
from tests.kiosk.test_garden_browser import capture, keys_on_screen, like_button, open_kiosk, seed_garden

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def decode_qr(png: bytes) -> str:
    zxingcpp = pytest.importorskip("zxingcpp")
    picture = PILImage.open(io.BytesIO(png)).convert("L")
    results = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, f"{len(results)} QR codes found"
    return results[0].text


def test_a_liked_image_shows_a_qr_code_that_opens_its_share_page(live_server, page, settings):
    settings.GARDEN_SHARE_BASE_URL = ""  # the QR holds the kiosk's own host (the live server)
    seed_garden(favorite="", per_orientation=3)
    open_kiosk(page, live_server)
    capture(page)
    page.wait_for_function("() => document.querySelectorAll('#garden img').length === 3")
    shown = keys_on_screen(page)
    assert page.locator(".share-qr").count() == 0  # no QR before a like

    liked = shown[1]
    like_button(page, liked).click()
    figure = page.locator("#garden figure").nth(1)
    code = figure.locator(".share-qr img")
    code.wait_for()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=code.element_handle())
    assert page.locator(".share-qr").count() == 1  # only the liked image has one
    assert "Scan to take it home" in figure.locator(".share-qr").inner_text()

    url = decode_qr(code.screenshot())
    assert url.startswith(live_server.url + "/image?content=")

    # A phone that scans it lands on the share page of exactly that image.
    share = page.context.new_page()
    response = share.goto(url)
    assert response.status == 200
    image = share.locator(".share-figure img")
    share.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.get_attribute("src").endswith(liked)
    assert_ai_labelled(image, share.locator(".share-figure .ai-label"))
    assert share.locator('meta[property="og:image"]').get_attribute("content").endswith(liked)
    assert share.locator("a[download]").get_attribute("href").endswith(liked)
    share.close()

    # Undoing the like takes the QR code away.
    like_button(page, liked).click()
    page.wait_for_selector(f'#garden .like-button[data-key="{liked}"][aria-pressed="false"]:not([disabled])')
    assert page.locator(".share-qr").count() == 0
