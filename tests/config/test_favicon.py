"""GET /favicon.ico: the icon browsers ask for on a site's first page, served by WhiteNoise from
config/root (WHITENOISE_ROOT) before any view runs, cacheable for a day."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from PIL import Image as PILImage


@pytest.fixture
def icon(client):
    return client.get("/favicon.ico")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_favicon_is_an_icon(icon):
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/x-icon"
    picture = PILImage.open(io.BytesIO(body(icon)))
    assert picture.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48)} <= set(picture.info["sizes"])


def test_it_is_cacheable_and_the_same_for_everyone(icon):
    assert icon["Cache-Control"] == f"public, max-age={settings.ROOT_FILE_MAX_AGE}"
    assert icon["ETag"] and icon["Last-Modified"]
    # Served before the session and language middleware: nothing that splits a shared cache.
    assert "Set-Cookie" not in icon.headers and "Accept-Language" not in icon.get("Vary", "")


def test_a_browser_that_has_it_gets_a_304(client, icon):
    again = client.get("/favicon.ico", HTTP_IF_NONE_MATCH=icon["ETag"])
    assert again.status_code == 304
    assert client.head("/favicon.ico").status_code == 200


def test_only_the_root_files_are_served_there(client):
    assert client.get("/favicon.png").status_code == 404
    assert client.get("/root/favicon.ico").status_code == 404


def test_static_files_keep_whitenoises_own_cache_rule():
    headers = {"Cache-Control": "max-age=315360000, public, immutable"}
    settings.WHITENOISE_ADD_HEADERS_FUNCTION(headers, "/srv/staticfiles/kiosk/kiosk.1a2b.css", "/static/kiosk/kiosk.1a2b.css")
    assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
