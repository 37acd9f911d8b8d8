"""The signage page's language (issue 40): the screen's ?lang=, else the zone's, else GARDEN_LANGUAGE;
the zone's language is set on the Displays page and follows the zone's state."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from displays import services
from displays.models import DisplayZone
from tests.displays.test_update_display import make_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("operator", is_staff=True)


def zone_in(language: str, operator, name: str = "hall") -> DisplayZone:
    selection = services.Selection(landscape=[make_image().key])
    return services.update_zone(zone=name, selection=selection, user=operator, language=language)


@pytest.mark.parametrize(
    ("language", "label", "words"),
    [
        ("ko", "AI 생성 그림", "감정 정원 디스플레이"),
        ("ja", "AI生成", "感情の庭 ディスプレイ"),
    ],
)
def test_a_zone_in_korean_or_japanese_renders_its_page_in_that_language(client, operator, language, label, words):
    zone_in(language, operator)
    response = client.get("/display/hall/", HTTP_ACCEPT_LANGUAGE="en")  # a screen's browser does not decide
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert response["Content-Language"] == language
    assert f"<title>hall · {words}</title>" in html
    assert f'<p class="ai-label" aria-hidden="true" hidden>{label}</p>' in html
    assert html.count(f'alt="{label}"') == 2
    assert "has no images yet" not in html and "There is no display zone" not in html


def test_the_empty_and_unknown_zone_messages_are_translated(client, operator, settings):
    DisplayZone.objects.create(name="hall", language="ja")
    html = client.get("/display/hall/").content.decode()
    assert "ディスプレイゾーン「hall」にはまだ画像がありません。" in html
    settings.LANGUAGE_CODE = "ko"  # GARDEN_LANGUAGE: what a zone without a language (or no zone) shows
    html = client.get("/display/lobby/").content.decode()
    assert '<html lang="ko">' in html
    assert "디스플레이 구역이 없습니다: “lobby”." in html


def test_the_address_pins_a_screen_to_a_language(client, operator):
    zone_in("ja", operator)
    pinned = client.get("/display/hall/?lang=ko")
    assert '<html lang="ko">' in pinned.content.decode() and 'data-pinned="ko"' in pinned.content.decode()
    assert '<html lang="ko">' in client.get("/display/hall?lang=ko-KR&rotate=5").content.decode()  # a regional code: its language
    assert '<html lang="en">' in client.get("/display/hall/?lang=en").content.decode()
    assert '<html lang="ko">' in client.get("/display/hall/?lang=KO").content.decode()
    # A language the installation does not ship is ignored: the zone's.
    ignored = client.get("/display/hall/?lang=fr").content.decode()
    assert '<html lang="ja">' in ignored and 'data-pinned=""' in ignored
    for odd in ("x" * 5000, "../ko", "ko%00"):
        response = client.get(f"/display/hall/?lang={odd}")
        assert response.status_code == 200 and '<html lang="ja">' in response.content.decode()


def test_a_zone_without_a_language_follows_garden_language_not_the_browser(client, operator, settings):
    zone_in("", operator)
    assert '<html lang="en">' in client.get("/display/hall/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    settings.LANGUAGE_CODE = "ja"
    html = client.get("/display/hall/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<html lang="ja">' in html and "AI生成" in html


def test_the_state_says_the_zones_language(client, operator, settings):
    zone_in("ko", operator)
    assert client.get("/display/hall/state").json()["language"] == "ko"
    settings.LANGUAGE_CODE = "ja"
    zone_in("", operator)
    assert client.get("/display/hall/state").json()["language"] == "ja"
    assert client.get("/display/nowhere/state").json()["language"] == "ja"


def test_the_language_is_kept_until_changed_and_an_unknown_one_is_refused(operator):
    zone = zone_in("ja", operator)
    later = services.update_zone(zone="hall", selection=services.Selection(landscape=[make_image().key]), user=operator)
    assert later.language == "ja"  # not given: left as it was (/updateDisplay never changes it)
    with pytest.raises(services.ZoneError) as refused:
        services.update_zone(zone="hall", selection=services.Selection(landscape=[make_image().key]), user=operator, language="fr")
    assert "language" in refused.value.fields
    assert DisplayZone.objects.get(pk=zone.pk).version == later.version  # nothing copied
    live = services.start_live(zone="hall", emotion="calm", user=operator, language="ko")
    assert live.language == "ko"


def test_the_displays_page_sets_the_zones_language(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("boss", password="pw-boss-123"))
    image = make_image()
    page = client.get("/admin/displays/displayzone/add/").content.decode()
    assert '<select id="zone-language" name="language"' in page
    assert '<option value="ja" lang="ja" >日本語</option>' in page

    response = client.post("/admin/displays/displayzone/add/", {"name": "lobby", "landscape_1": image.key, "language": "ja"})
    assert response.status_code == 302
    zone = DisplayZone.objects.get(name="lobby")
    assert zone.language == "ja"
    assert "language ja" in LogEntry.objects.get(object_id=str(zone.pk)).change_message
    edit = client.get(f"/admin/displays/displayzone/{zone.pk}/change/").content.decode()
    assert '<option value="ja" lang="ja" selected>日本語</option>' in edit

    refused = client.post(f"/admin/displays/displayzone/{zone.pk}/change/", {"landscape_1": image.key, "language": "xx"})
    assert refused.status_code == 200
    assert "Unknown language" in refused.content.decode()
    assert DisplayZone.objects.get(name="lobby").language == "ja"
