"""The fleet page: every screen with its status and filters, a screen's page with its enrolment link,
QR code, recent beats, events and commands; commands sent from it and logged; operators' rights."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.utils import timezone

from config.version import page_version
from screens import services
from screens.models import Screen, ScreenCommand
from tests.screens.support import beat_body, enrolled_screen, post_anonymous, post_beat

pytestmark = pytest.mark.django_db

FLEET = "/admin/screens/screen/"


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-root-123"))
    return client


def fleet_of_three(client):
    fine, secret = enrolled_screen("Hall kiosk")
    post_beat(client, fine, secret, beat_body(version=page_version(), visitors=4))
    quiet, quiet_secret = enrolled_screen("Stair kiosk", location="stairs")
    post_beat(client, quiet, quiet_secret, beat_body(version="0.0.1+old", camera="frozen"))
    Screen.objects.filter(pk=quiet.pk).update(
        last_beat_at=timezone.now() - timedelta(minutes=5), enrolled_at=timezone.now() - timedelta(hours=1)
    )
    post_anonymous(client, "beefbeefbeef")
    return fine, quiet


def test_the_fleet_lists_every_screen_with_its_status(admin_client):
    fleet_of_three(admin_client)
    page = admin_client.get(FLEET).content.decode()
    assert 'data-status="ok"' in page and 'data-status="silent"' in page and 'data-status="unenrolled"' in page
    assert 'data-count="ok">1<' in page and 'data-count="silent">1<' in page and 'data-count="unenrolled">1<' in page
    assert "Hall kiosk" in page and "Stair kiosk" in page and "kiosk beefbeef" in page
    assert "0.0.1+old" in page and "screen-outdated" in page  # the older page is flagged
    filtered = admin_client.get(FLEET + "?status=silent").content.decode()
    assert "Stair kiosk" in filtered and "Hall kiosk" not in filtered
    assert "Hall kiosk" in admin_client.get(FLEET + "?location=hall").content.decode()


def test_a_new_screen_comes_with_its_enrolment_link_and_qr_code(admin_client):
    assert admin_client.get(FLEET + "add/").status_code == 200
    response = admin_client.post(FLEET + "add/", {"name": "Lobby wall", "location": "lobby", "kind": "signage", "zone": "lobby"})
    screen = Screen.objects.get(name="Lobby wall")
    # Save lands on the new screen's enrolment link, not on the list (issue 63), and says where.
    assert response.status_code == 302 and response["Location"] == FLEET + f"{screen.pk}/change/#enrolment"
    page = admin_client.get(response["Location"]).content.decode()
    token = services.enrolment_token(screen)
    assert f"/screens/enrol/{token}" in page and '<h2 id="enrolment">' in page
    assert "“Lobby wall” was added. Its enrolment link and QR code are below" in page
    assert "was added successfully" not in page  # Django's own message, which said nothing of the link
    # In Korean too (the operator's language).
    response = admin_client.post(FLEET + "add/", {"name": "홀 키오스크", "kind": "kiosk"}, HTTP_ACCEPT_LANGUAGE="ko", follow=True)
    assert "“홀 키오스크” 화면을 추가했습니다. 아래의 등록 링크나 QR 코드를 48시간 안에" in response.content.decode()
    qr = admin_client.get(FLEET + f"{screen.pk}/enrolment.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    assert LogEntry.objects.filter(object_id=str(screen.pk)).exists()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_zone_help_shows_its_placeholder(admin_client, language):
    """Issue 63: the zone's help read "/display//)", its <zone> taken for an HTML tag."""
    page = admin_client.get(FLEET + "add/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "/display/&lt;zone&gt;/)" in page and "/display/<zone>" not in page


def test_a_signage_screen_needs_its_zone(admin_client):
    response = admin_client.post(FLEET + "add/", {"name": "Wall", "location": "", "kind": "signage", "zone": ""})
    assert response.status_code == 200
    assert "display zone" in response.content.decode()
    assert not Screen.objects.exists()


def test_a_screens_page_shows_beats_events_and_commands(admin_client):
    screen, secret = enrolled_screen()
    post_beat(admin_client, screen, secret, beat_body(camera="ok"))
    post_beat(admin_client, screen, secret, beat_body(camera="ended", errors=[{"at": 40, "message": "TypeError: x is null"}], errorCount=1))
    response = admin_client.post(FLEET + f"{screen.pk}/command/", {"kind": "maintenance_on"})
    assert response.status_code == 302
    page = admin_client.get(FLEET + f"{screen.pk}/change/").content.decode()
    assert 'id="screen-beats"' in page and 'id="screen-events"' in page and 'id="screen-commands"' in page
    assert "camera: ended" in page and "TypeError: x is null" in page
    assert "maintenance screen on" in page
    command = ScreenCommand.objects.get()
    assert command.kind == "maintenance_on" and command.issued_by.username == "root"
    assert "maintenance screen on" in admin_client.get("/admin/screens/screencommand/").content.decode()
    assert LogEntry.objects.filter(object_id=str(screen.pk), change_message="command: maintenance screen on").exists()


def test_actions_send_commands_to_enrolled_screens_only(admin_client):
    fine, quiet = fleet_of_three(admin_client)
    unenrolled = Screen.objects.get(anonymous_id="beefbeefbeef")
    ids = [fine.pk, quiet.pk, unenrolled.pk]
    admin_client.post(FLEET, {"action": "reload", "_selected_action": ids})
    assert sorted(ScreenCommand.objects.values_list("screen_id", flat=True)) == sorted([fine.pk, quiet.pk])
    admin_client.post(FLEET, {"action": "language_ja", "_selected_action": [fine.pk]})
    assert ScreenCommand.objects.filter(screen=fine, kind="language", argument="ja").exists()


def test_screen_operators_may_steer_and_plain_staff_may_not(client, django_user_model):
    call_command("setup_screen_operators", "--user", "ops", "--create", stdout=io.StringIO())
    ops = django_user_model.objects.get(username="ops")
    assert ops.has_perm("screens.command_screen") and not ops.has_perm("screens.delete_screen")
    screen, _secret = enrolled_screen()
    client.force_login(ops)
    assert client.get(FLEET).status_code == 200
    client.post(FLEET + f"{screen.pk}/command/", {"kind": "reload"})
    assert ScreenCommand.objects.count() == 1
    staff = django_user_model.objects.create_user("staff", password="pw-staff-123", is_staff=True)
    client.force_login(staff)
    assert client.get(FLEET).status_code == 403
    assert client.post(FLEET + f"{screen.pk}/command/", {"kind": "reload"}).status_code == 403
    assert ScreenCommand.objects.count() == 1
