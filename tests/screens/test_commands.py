"""Commands: given in the admin, delivered with the next beat's answer, acknowledged by the page,
every one in the admin log; unenrolled screens get none."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from screens import services
from screens.models import ScreenCommand
from tests.screens.support import beat_body, enrolled_screen, post_anonymous, post_beat

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("operator", password="pw-operator-1", is_staff=True)


def test_a_command_goes_out_with_the_next_answer_and_is_acknowledged(client, operator):
    screen, secret = enrolled_screen()
    command = services.issue_command(screen=screen, kind="reload", by=operator)
    answer = post_beat(client, screen, secret).json()
    assert answer["commands"] == [{"id": command.pk, "kind": "reload", "argument": ""}]
    command.refresh_from_db()
    assert command.delivered_at is not None and command.acked_at is None
    # Until acknowledged it comes again; the ack closes it.
    assert post_beat(client, screen, secret).json()["commands"][0]["id"] == command.pk
    answer = post_beat(client, screen, secret, beat_body(acks=[{"id": command.pk, "ok": True, "detail": ""}])).json()
    assert answer["commands"] == []
    command.refresh_from_db()
    assert command.acked_at is not None and command.ok is True
    entry = LogEntry.objects.get(object_id=str(screen.pk))
    assert entry.user == operator and entry.change_message == "command: reload"


def test_an_ack_for_another_screen_is_ignored(client, operator):
    screen, _secret = enrolled_screen()
    other, other_secret = enrolled_screen("Other")
    command = services.issue_command(screen=screen, kind="reload", by=operator)
    post_beat(client, other, other_secret, beat_body(acks=[{"id": command.pk, "ok": True}]))
    command.refresh_from_db()
    assert command.acked_at is None


def test_maintenance_is_the_screens_state_in_every_answer(client, operator):
    screen, secret = enrolled_screen()
    services.issue_command(screen=screen, kind="maintenance_on", by=operator)
    assert post_beat(client, screen, secret).json()["maintenance"] is True
    services.issue_command(screen=screen, kind="maintenance_off", by=operator)
    assert post_beat(client, screen, secret).json()["maintenance"] is False


def test_language_commands_name_a_shipped_language(operator):
    screen, _secret = enrolled_screen()
    assert services.issue_command(screen=screen, kind="language", argument="ko", by=operator).argument == "ko"
    with pytest.raises(services.CommandRefused):
        services.issue_command(screen=screen, kind="language", argument="xx", by=operator)
    with pytest.raises(services.CommandRefused):
        services.issue_command(screen=screen, kind="explode", by=operator)


def test_unenrolled_screens_get_no_commands(client, operator):
    post_anonymous(client, "deadbeef0001")
    from screens.models import Screen

    listed = Screen.objects.get(anonymous_id="deadbeef0001")
    with pytest.raises(services.CommandRefused):
        services.issue_command(screen=listed, kind="reload", by=operator)
    assert not ScreenCommand.objects.exists()


def test_a_command_not_delivered_in_time_expires(client, operator, settings):
    screen, secret = enrolled_screen()
    command = services.issue_command(screen=screen, kind="start_over", by=operator)
    ScreenCommand.objects.filter(pk=command.pk).update(
        issued_at=timezone.now() - timedelta(seconds=settings.SCREENS_COMMAND_TTL_SECONDS + 1)
    )
    assert post_beat(client, screen, secret).json()["commands"] == []


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("/", {"en": "/en/kiosk/", "ko": "/ko/kiosk/", "ja": "/ja/kiosk/"}),
        ("/?idle=30", {"en": "/en/kiosk/?idle=30", "ko": "/ko/kiosk/?idle=30", "ja": "/ja/kiosk/?idle=30"}),
        ("/kiosk", {"en": "/en/kiosk", "ko": "/ko/kiosk", "ja": "/ja/kiosk"}),
        ("/kiosk/", {"en": "/en/kiosk/", "ko": "/ko/kiosk/", "ja": "/ja/kiosk/"}),
        ("/ja/kiosk/", {"en": "/en/kiosk/", "ko": "/ko/kiosk/", "ja": "/ja/kiosk/"}),
    ],
)
def test_every_kiosk_address_carries_an_address_for_each_language(client, address, expected):
    """The switch-language command's addresses (#screen-languages): issue 63 found `/` with none."""
    html = client.get(address).content.decode()
    block = re.search(r'<script id="screen-languages" type="application/json">(.*?)</script>', html, re.S)
    assert block and json.loads(block.group(1)) == expected
