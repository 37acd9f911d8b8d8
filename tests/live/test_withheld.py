"""A site that would never show a live picture (the image check off: each one stored unchecked and
withheld) says so wherever the operator looks, and paints none (docs/live.md#the-image-check)."""

import pytest
from django.core.checks import run_checks

from generation.models import GenerationJob
from tests.live.conftest import ask

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("live_settings")]
WITHHELD = "Live pictures would never be shown: the image check is off"  # safety.selectors.live_pictures_withheld


@pytest.fixture
def check_off(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = False
    return settings


def live_warnings() -> list[str]:
    return [message.id for message in run_checks(tags=["live"])]


def test_post_live_answers_409_with_the_reason_and_queues_nothing(api_client, live_worker, no_enqueue, check_off, caplog):
    with caplog.at_level("INFO"):
        response = ask(api_client, {"id": "visitor-1", "emotion": "calm"}, HTTP_ACCEPT_LANGUAGE="en")
    # Every visitor of such a site gets it: an INFO line, not a warning of django.request each time.
    assert not [record for record in caplog.records if record.name == "django.request" and record.levelno >= 30]
    assert response.status_code == 409, response.content
    body = response.json()
    assert set(body) == {"detail", "reason"} and body["reason"] == "image_check_off"
    assert body["detail"].startswith(WITHHELD) and "GARDEN_" not in body["detail"]
    assert "Retry-After" not in response  # asking again will not help: not a part that is down
    # The live worker gets nothing to fill the pool with.
    assert not GenerationJob.objects.exists() and no_enqueue == []
    korean = ask(api_client, {"id": "visitor-1", "emotion": "calm"}, HTTP_ACCEPT_LANGUAGE="ko").json()["detail"]
    assert korean.startswith("라이브 그림") and "GARDEN_" not in korean


def test_the_check_passes_when_live_pictures_can_be_shown_or_are_off(settings):
    settings.GARDEN_SAFETY_IMAGE_CHECK = True
    assert live_warnings() == []
    settings.GARDEN_SAFETY_IMAGE_CHECK, settings.GARDEN_LIVE_ENABLED = False, False
    assert live_warnings() == []


def test_manage_py_check_warns_and_not_only_with_deploy(check_off):
    [message] = run_checks(tags=["live"], include_deployment_checks=False)
    assert message.id == "live.W001" and message.msg.startswith(WITHHELD)
