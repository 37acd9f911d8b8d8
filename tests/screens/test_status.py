"""A screen's status, derived when read: silent after two missed beats, warnings with their reasons;
the same on /metrics and the system status page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from config.version import page_version
from screens import selectors, status
from screens.models import Screen
from tests.screens.support import beat_body, enrolled_screen, post_anonymous, post_beat

pytestmark = pytest.mark.django_db


def beat_and_age(client, seconds: float, **changes):
    screen, secret = enrolled_screen()
    assert post_beat(client, screen, secret, beat_body(**changes)).status_code == 200
    earlier = timezone.now() - timedelta(seconds=seconds)
    Screen.objects.filter(pk=screen.pk).update(last_beat_at=earlier, enrolled_at=earlier - timedelta(minutes=5))
    screen.refresh_from_db()
    return screen


def test_silent_after_two_missed_beats():
    assert status.silent_after(15) == 33  # two 15 s beats and a fifth: within the 35 s aim
    assert status.silent_after(1) == 3


def test_ok_then_silent(client):
    screen = beat_and_age(client, 32, version=page_version())
    assert status.assess(screen, timezone.now()).status == "ok"
    Screen.objects.filter(pk=screen.pk).update(last_beat_at=timezone.now() - timedelta(seconds=34))
    screen.refresh_from_db()
    found = status.assess(screen, timezone.now())
    assert found.status == "silent" and "no beat for 34 s" in found.reasons[0]


def test_enrolled_but_never_beat_is_silent_and_unknown_pages_unenrolled(client):
    screen, _secret = enrolled_screen()
    assert status.assess(screen, timezone.now()).status == "silent"
    waiting = Screen.objects.create(name="Not yet")
    assert status.assess(waiting, timezone.now()).status == "unenrolled"
    post_anonymous(client, "feedfacefeed")
    assert status.assess(Screen.objects.get(anonymous_id="feedfacefeed"), timezone.now()).status == "unenrolled"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"camera": "frozen"}, "camera: frozen"),
        ({"camera": "no_permission"}, "camera: no permission"),
        ({"outbox": {"length": 40, "oldest": 3600}}, "outbox: 40 waiting, the oldest for 60 min"),
        ({"errors": [{"at": 40, "message": "boom"}], "errorCount": 1}, "1 error in the last 5 minutes"),
        ({"version": "0.1.0+0000000000"}, "runs an older page (0.1.0+0000000000)"),
        ({"heap": {"used": 900 * 1024 * 1024, "limit": 4_000_000_000}}, "JS heap 900 MB"),
    ],
)
def test_warnings_say_why(client, changes, reason):
    screen = beat_and_age(client, 1, **{"version": page_version(), **changes})
    found = status.assess(screen, timezone.now())
    assert found.status == "warning"
    assert reason in found.reasons


def test_an_old_error_or_a_young_outbox_is_fine(client):
    screen = beat_and_age(
        client, 1, version=page_version(), uptime=1000, errors=[{"at": 10, "message": "long ago"}], outbox={"length": 3, "oldest": 20}
    )
    assert status.assess(screen, timezone.now()).status == "ok"


def test_metrics_count_screens_by_status_and_seconds_since_beat(client, settings):
    settings.GARDEN_METRICS_ALLOWED_IPS = ["127.0.0.1"]
    quiet = beat_and_age(client, 40, version=page_version())
    fine = beat_and_age(client, 2, version=page_version())
    post_anonymous(client, "abcdabcdabcd")
    text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert 'garden_screens{status="silent"} 1.0' in text
    assert 'garden_screens{status="ok"} 1.0' in text
    assert 'garden_screens{status="unenrolled"} 1.0' in text
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("garden_screen_seconds_since_beat{"))
    assert 40 <= float(lines[f'garden_screen_seconds_since_beat{{name="{quiet.name}",screen="{quiet.pk}"}}']) < 45
    assert float(lines[f'garden_screen_seconds_since_beat{{name="{fine.name}",screen="{fine.pk}"}}']) < 5


def test_the_system_status_page_has_a_screens_row(client):
    beat_and_age(client, 60, version=page_version())
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client.force_login(admin)
    page = client.get("/curation/status/").content.decode()
    assert 'id="status-screens"' in page
    assert 'data-status="silent" data-count="1"' in page
    assert "Hall kiosk" in page and "silent" in page


def test_the_history_shows_silences_and_changes(client):
    screen, secret = enrolled_screen()
    post_beat(client, screen, secret, beat_body(camera="ok"))
    post_beat(client, screen, secret, beat_body(camera="ended"))
    from screens.models import Beat

    newest = Beat.objects.filter(screen=screen).order_by("-pk").first()
    Beat.objects.filter(pk=newest.pk).update(at=newest.at + timedelta(seconds=100))
    texts = [event.text for event in selectors.history(screen)["events"]]
    assert "camera: ended" in texts
    assert any(text.startswith("silent for 1") for text in texts)
