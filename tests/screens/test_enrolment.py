"""Enrolment: a one-time link (and QR code) from the admin; the device takes its secret once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from screens import services
from screens.models import Screen
from tests.screens.support import beat_body, post_beat

pytestmark = pytest.mark.django_db


def enrol(client, token, anonymous=""):
    return client.post("/screens/enrol", {"token": token, "anonymous": anonymous}, content_type="application/json")


def test_a_link_gives_the_secret_once(client):
    screen = Screen.objects.create(name="Hall kiosk")
    token = services.open_enrolment(screen=screen)
    first = enrol(client, token)
    assert first.status_code == 200
    answer = first.json()
    assert answer["screen"] == screen.pk and answer["name"] == "Hall kiosk" and answer["next"] == "/kiosk/"
    assert first["Cache-Control"] == "no-store"
    screen.refresh_from_db()
    assert screen.enrolled and screen.enrolled_at is not None
    assert answer["secret"] not in str(Screen.objects.values().get(pk=screen.pk))  # the secret is stored nowhere
    # The secret signs beats.
    assert post_beat(client, screen, answer["secret"], beat_body()).status_code == 200
    # The link is spent.
    again = enrol(client, token)
    assert again.status_code == 404
    assert "not valid" in again.json()["detail"]


def test_a_signage_screen_opens_its_zone(client):
    screen = Screen.objects.create(name="Lobby wall", kind="signage", zone="lobby")
    answer = enrol(client, services.open_enrolment(screen=screen)).json()
    assert answer["next"] == "/display/lobby/" and answer["kind"] == "signage"


def test_expired_replaced_and_forged_links_are_refused(client):
    screen = Screen.objects.create(name="Hall kiosk")
    old = services.open_enrolment(screen=screen)
    new = services.open_enrolment(screen=screen)
    assert enrol(client, old).status_code == 404  # replaced
    assert enrol(client, f"{screen.pk}.{'A' * 43}").status_code == 404  # forged
    assert enrol(client, "nonsense").status_code == 404
    assert enrol(client, "").status_code == 400
    Screen.objects.filter(pk=screen.pk).update(enrol_expires_at=timezone.now() - timedelta(seconds=1))
    assert enrol(client, new).status_code == 404  # expired
    screen.refresh_from_db()
    assert not screen.enrolled


def test_the_enrolment_page_checks_the_link_without_using_it(client):
    screen = Screen.objects.create(name="Hall kiosk")
    token = services.open_enrolment(screen=screen)
    page = client.get(f"/screens/enrol/{token}")
    assert page.status_code == 200
    assert "Hall kiosk" in page.content.decode()
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]
    # Looking at the page (a QR scanner's preview) does not use the link.
    assert enrol(client, token).status_code == 200
    assert client.get(f"/screens/enrol/{token}").status_code == 404


def test_the_secret_never_reaches_the_logs(client, caplog):
    screen = Screen.objects.create(name="Hall kiosk")
    token = services.open_enrolment(screen=screen)
    with caplog.at_level("DEBUG"):
        secret = enrol(client, token).json()["secret"]
        post_beat(client, screen, secret, beat_body())
    assert secret not in caplog.text and token not in caplog.text


@pytest.mark.parametrize("token", ["²." + "A" * 43, "9" * 40 + "." + "A" * 43, "1." + "A" * 42 + "\n", "%00", "1.<script>"])
def test_odd_tokens_are_refused_never_500(client, token):
    assert enrol(client, token).status_code in (400, 404)  # 400: longer than a token can be
    assert client.get("/screens/enrol/" + token.replace("\n", "%0A").replace("%00", "%2500")).status_code == 404
