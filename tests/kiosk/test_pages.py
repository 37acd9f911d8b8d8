"""The kiosk pages render through Django's test client; the text-to-image page is staff only."""

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/kiosk/", "/kiosk"])
def test_garden_kiosk_page_renders(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.templates[0].name == "kiosk/garden.html"
    # Camera, capture, the transparency notice, the favorite picker with the contract's values.
    assert 'id="camera"' in html
    assert 'id="capture-button"' in html
    assert "apparent" in html and "keeps no photo" in html
    assert '<html lang="en">' in html  # GARDEN_LANGUAGE's default; Korean and Japanese: test_languages.py
    for value in ("spring", "summer", "autumn", "winter", "cloudy", "rainy", "snowy", "sunny"):
        assert f'value="{value}"' in html
    for value in ("day", "sunset", "the-early-dawn", "the-middle-of-the-night"):
        assert f'value="{value}"' in html
    assert "/static/kiosk/garden.js" in html and "/static/kiosk/common.js" in html
    assert "/static/kiosk/kiosk.css" in html
    # No link to the staff page for anonymous visitors.
    assert reverse("kiosk-text2image") not in html


def test_idle_reset_setting_reaches_the_garden_page(client, settings):
    # GARDEN_KIOSK_IDLE_SECONDS is rendered as data-idle-seconds (default 90; ?idle= overrides it in the page).
    assert settings.GARDEN_KIOSK_IDLE_SECONDS == 90
    html = client.get("/kiosk/").content.decode()
    assert 'data-idle-seconds="90"' in html
    assert 'id="idle-countdown"' in html and 'id="idle-announce"' in html and 'aria-live="polite"' in html
    assert "/static/kiosk/idle.js" in html
    with override_settings(GARDEN_KIOSK_IDLE_SECONDS=45):
        assert 'data-idle-seconds="45"' in client.get("/").content.decode()
    with override_settings(GARDEN_KIOSK_IDLE_SECONDS=0):  # off
        assert 'data-idle-seconds="0"' in client.get("/").content.decode()


def test_outbox_settings_reach_the_garden_page(client, settings):
    # The outbox's age limit and bound (docs/kiosk.md) are data attributes outbox.js reads.
    assert settings.GARDEN_KIOSK_OUTBOX_MAX_AGE_SECONDS == 86400 and settings.GARDEN_KIOSK_OUTBOX_MAX_EVENTS == 500
    html = client.get("/kiosk/").content.decode()
    assert 'data-outbox-max-age="86400"' in html and 'data-outbox-max-events="500"' in html
    assert "/static/kiosk/outbox.js" in html
    with override_settings(GARDEN_KIOSK_OUTBOX_MAX_AGE_SECONDS=600, GARDEN_KIOSK_OUTBOX_MAX_EVENTS=0):
        html = client.get("/").content.decode()
    assert 'data-outbox-max-age="600"' in html and 'data-outbox-max-events="1"' in html  # never unbounded or none


def test_the_live_picture_setting_reaches_the_garden_page(client, settings):
    # GARDEN_LIVE_ENABLED (default on) puts the live picture's API on the page; off, the page asks for nothing.
    assert settings.GARDEN_LIVE_ENABLED is True
    html = client.get("/kiosk/").content.decode()
    assert 'data-live-url="/live"' in html
    assert 'id="live-tile"' in html and 'id="live-announce"' in html and "/static/kiosk/live.js" in html
    with override_settings(GARDEN_LIVE_ENABLED=False):
        assert "data-live-url" not in client.get("/").content.decode()


def test_static_files_exist_without_a_build_step():
    # The scripts and the stylesheet are plain files in garden/static/kiosk/, found by the app finder.
    from django.contrib.staticfiles import finders

    scripts = ("common.js", "idle.js", "outbox.js", "live.js", "garden.js", "emotion.js", "text2image.js")
    for name in (*(f"kiosk/{script}" for script in scripts), "kiosk/kiosk.css"):
        assert finders.find(name), name


@pytest.mark.parametrize("path", ["/kiosk/emotion/", "/kiosk/emotion"])
def test_emotion_check_page_renders(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="capture-button"' in html and 'id="emotion-result"' in html
    assert "keeps no photo" in html
    assert "/static/kiosk/emotion.js" in html


def test_pages_only_answer_get(client):
    assert client.post("/kiosk/").status_code == 405
    assert client.post("/kiosk/emotion/").status_code == 405


def test_text2image_redirects_anonymous_visitors_to_login(client):
    response = client.get("/kiosk/text2image/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "next=/kiosk/text2image/" in response["Location"]


def test_text2image_refuses_logged_in_non_staff(client):
    user = get_user_model().objects.create_user("visitor", password="pw-visitor-123")
    client.force_login(user)
    assert client.get("/kiosk/text2image/").status_code == 403
    assert client.get("/kiosk/text2image").status_code == 403


def test_text2image_renders_for_staff_with_csrf_token(client):
    user = get_user_model().objects.create_user("curator", password="pw-curator-123", is_staff=True)
    client.force_login(user)
    response = client.get("/kiosk/text2image/")
    assert response.status_code == 200
    html = response.content.decode()
    for width, height in ((768, 512), (1024, 600), (1280, 800)):
        assert f'value="{width}x{height}"' in html
    assert 'name="csrf-token"' in html
    assert "<progress" in html
    assert "/static/kiosk/text2image.js" in html
    # Staff see the link to it in the navigation.
    assert reverse("kiosk-text2image") in client.get("/kiosk/").content.decode()


def test_the_visitor_code_endpoint_derives_the_code_and_stores_nothing(client, django_assert_num_queries):
    from garden.visitors import visitor_code

    with django_assert_num_queries(0):
        response = client.get("/kiosk/visitor-code", {"id": "47f9eeb5-4252-435e-a1c9-b4a936f015ae"})
    assert response.status_code == 200
    assert response.json() == {"code": visitor_code("47f9eeb5-4252-435e-a1c9-b4a936f015ae")}
    assert response["Cache-Control"] == "no-store"
    assert client.get("/kiosk/visitor-code").status_code == 400
    assert client.get("/kiosk/visitor-code", {"id": " x"}).status_code == 400
