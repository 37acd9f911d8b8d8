"""What screens read: the old polling path, the signage page and its state; live zones; the admin page."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.models import LogEntry
from django.test import Client

from displays import services
from displays.models import DisplayZone
from displays.tasks import refresh_live_zones
from garden import keys
from garden.services import read_file
from recommend.models import ImageStat
from tests.displays.test_update_display import make_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user("operator", password="pw-operator-1", is_staff=True)


def show(zone, *, landscape=None, portrait=None, user):
    return services.update_zone(zone=zone, selection=services.Selection(landscape=landscape, portrait=portrait), user=user)


# --- the exact path old edge screens poll -------------------------------------------------------------


def test_old_screens_poll_the_fixed_path_with_a_timestamp(client, operator):
    first, second = make_image(), make_image()
    show("zone1", landscape=[first.key, second.key], user=operator)

    response = client.get("/display/zone1/img2h.jpeg?1700000000123")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response.content == read_file(second.key)
    assert "no-cache" in response["Cache-Control"]
    # An unchanged image costs a 304; a change shows on the next poll.
    etag = response["ETag"]
    assert client.get("/display/zone1/img2h.jpeg?1700000000456", HTTP_IF_NONE_MATCH=etag).status_code == 304
    show("zone1", landscape=[second.key, first.key], user=operator)
    changed = client.get("/display/zone1/img2h.jpeg?1700000000789", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.content == read_file(first.key)


@pytest.mark.parametrize(
    "path", ["/display/zone1/img3h.jpeg", "/display/zone1/img9h.jpeg", "/display/zone2/img1h.jpeg", "/display/zone1/img0h.jpeg"]
)
def test_empty_or_unknown_slots_are_404(client, operator, path):
    show("zone1", landscape=[make_image().key, make_image().key], user=operator)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/display/../secret/img1h.jpeg", "/display/Zone1/img1h.jpeg", "/display/zone1/img1x.jpeg"])
def test_odd_paths_are_404(client, path):
    assert client.get(path).status_code == 404


# --- signage page and its state -----------------------------------------------------------------------


def test_state_lists_the_slot_urls_with_the_version(client, operator):
    landscape = [make_image(), make_image()]
    portrait = [make_image(keys.PORTRAIT)]
    zone = show("zone1", landscape=[i.key for i in landscape], portrait=[i.key for i in portrait], user=operator)
    response = client.get("/display/zone1/state")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "zone": "zone1",
        "exists": True,
        "version": zone.version,
        "live": "",
        "language": "en",
        "landscape": [f"/display/zone1/img1h.jpeg?v={zone.version}", f"/display/zone1/img2h.jpeg?v={zone.version}"],
        "portrait": [f"/display/zone1/img1v.jpeg?v={zone.version}"],
    }
    for url in response.json()["landscape"]:
        assert client.get(url).status_code == 200


def test_an_unknown_zone_is_an_empty_one(client):
    assert client.get("/display/zone9/state").json() == {
        "zone": "zone9",
        "exists": False,
        "version": 0,
        "live": "",
        "language": "en",
        "landscape": [],
        "portrait": [],
    }


@pytest.mark.parametrize("path", ["/display/zone1/", "/display/zone1"])
def test_the_signage_page_renders_without_inline_script(client, operator, path, settings):
    settings.DISPLAY_ROTATE_SECONDS = 7
    show("zone1", landscape=[make_image().key], user=operator)
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state-url="/display/zone1/state"' in html
    assert 'data-rotate-seconds="7"' in html
    assert '<script id="signage-state" type="application/json">' in html
    assert "onclick" not in html and "style=" not in html
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_a_bad_zone_name_has_no_signage_page(client):
    assert client.get("/display/Zone%201/").status_code == 404


# --- live zones ---------------------------------------------------------------------------------------


def like(image, count):
    ImageStat.objects.update_or_create(segment="*", image=image, defaults={"likes": count, "impressions": count * 3})


def test_a_live_zone_follows_the_most_liked_images_of_its_emotion(operator):
    happy = [make_image(emotion="happy") for _ in range(4)]
    portrait = make_image(keys.PORTRAIT, emotion="happy")
    make_image(emotion="sad")  # another emotion: never shown
    like(happy[2], 9)
    like(happy[0], 5)
    ImageStat.objects.create(segment="adult|Female", image=happy[3], likes=50)  # a segment, not everyone: ignored

    zone = services.start_live(zone="hall", emotion="happy", user=operator)
    assert zone.live_emotion == "happy"
    assert zone.landscape[:2] == [happy[2].key, happy[0].key]  # most liked first, then newest
    assert set(zone.landscape) == {i.key for i in happy}
    assert zone.portrait == [portrait.key]
    assert read_file("display/hall/img1h.jpeg") == read_file(happy[2].key)

    assert refresh_live_zones() == []  # nothing changed: no new version
    assert DisplayZone.objects.get(name="hall").version == zone.version

    like(happy[3], 20)
    assert refresh_live_zones() == ["hall"]
    refreshed = DisplayZone.objects.get(name="hall")
    assert refreshed.landscape[0] == happy[3].key
    assert refreshed.version == zone.version + 1
    assert read_file("display/hall/img1h.jpeg") == read_file(happy[3].key)
    entry = LogEntry.objects.filter(object_id=str(zone.pk)).latest("id")
    assert entry.user == operator and entry.change_message.startswith("live refresh")


def test_choosing_images_by_hand_ends_live_mode(operator):
    image = make_image(emotion="calm")
    services.start_live(zone="hall", emotion="calm", user=operator)
    show("hall", landscape=[image.key], user=operator)
    assert DisplayZone.objects.get(name="hall").live_emotion == ""
    assert refresh_live_zones() == []


def test_an_unknown_live_emotion_is_refused(operator):
    with pytest.raises(services.ZoneError):
        services.start_live(zone="hall", emotion="grumpy", user=operator)


def test_beat_refreshes_live_zones():
    entry = django_settings.CELERY_BEAT_SCHEDULE["displays-refresh-live-zones"]
    assert entry["task"] == refresh_live_zones.name
    assert entry["schedule"] == django_settings.DISPLAY_LIVE_REFRESH_MINUTES * 60.0


# --- the Displays admin page ----------------------------------------------------------------------------


@pytest.fixture
def admin_client(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("boss", password="pw-boss-123"))
    return client


def test_the_admin_page_shows_each_zone_and_edits_it_through_the_service(admin_client):
    images = [make_image() for _ in range(3)]
    portrait = make_image(keys.PORTRAIT)

    listing = admin_client.get("/admin/displays/displayzone/")
    assert listing.status_code == 200
    add = admin_client.get("/admin/displays/displayzone/add/")
    assert add.status_code == 200
    page = add.content.decode()
    for image in [*images, portrait]:
        assert f'data-key="{image.key}"' in page  # every serving image can be picked

    response = admin_client.post(
        "/admin/displays/displayzone/add/",
        {"name": "lobby", "landscape_1": images[1].key, "landscape_2": "", "landscape_3": images[0].key, "portrait_1": portrait.key},
    )
    assert response.status_code == 302
    zone = DisplayZone.objects.get(name="lobby")
    assert zone.landscape == [images[1].key, images[0].key]  # the empty slot is skipped
    assert read_file("display/lobby/img2h.jpeg") == read_file(images[0].key)
    assert LogEntry.objects.get(object_id=str(zone.pk)).change_message.startswith("Displays page")

    listing = admin_client.get("/admin/displays/displayzone/").content.decode()
    assert 'href="/display/lobby/"' in listing
    assert listing.count('class="zone-thumb"') == 3  # what the zone shows now
    edit = admin_client.get(f"/admin/displays/displayzone/{zone.pk}/change/").content.decode()
    assert f'value="{images[1].key}"' in edit


def test_the_admin_page_refuses_a_pool_key_and_changes_nothing(admin_client):
    good = make_image()
    zone = services.update_zone(zone="lobby", selection=services.Selection(landscape=[good.key]), user=None)
    pool = make_image(status="pool")
    response = admin_client.post(f"/admin/displays/displayzone/{zone.pk}/change/", {"landscape_1": pool.key})
    assert response.status_code == 200
    assert "pool image" in response.content.decode()
    assert f'value="{pool.key}"' in response.content.decode()  # the form keeps what was typed
    assert DisplayZone.objects.get(pk=zone.pk).landscape == [good.key]


def test_the_admin_page_starts_a_live_zone(admin_client):
    image = make_image(emotion="sad")
    assert admin_client.post("/admin/displays/displayzone/add/", {"name": "hall", "live_emotion": "sad"}).status_code == 302
    zone = DisplayZone.objects.get(name="hall")
    assert (zone.live_emotion, zone.landscape) == ("sad", [image.key])


def test_staff_without_display_rights_cannot_edit(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("curator", password="pw-curator-1", is_staff=True))
    assert client.get("/admin/displays/displayzone/add/").status_code == 403
