"""POST /updateDisplay: auth, the original's answer, exact keys and bytes, validation, all-or-nothing."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone

from displays.models import DisplayZone
from garden import keys
from garden.models import Image
from garden.services import create_image, read_file
from tests.factories import jpeg_bytes

pytestmark = pytest.mark.django_db

_colors = itertools.count(1)


def make_image(orientation: str = keys.LANDSCAPE, *, status: str = Image.Status.SERVING, emotion: str = "calm") -> Image:
    """A real JPEG with bytes of its own (a distinct colour), so copies can be told apart."""
    n = next(_colors)
    prefix = keys.SERVING_PREFIX if status == Image.Status.SERVING else keys.POOL_PREFIX
    key = keys.build_key(
        prefix=prefix, emotion=emotion, favorite="", timestr=keys.new_timestr(timezone.now()), index=n, orientation=orientation
    )
    width, height = (16, 10) if orientation == keys.LANDSCAPE else (10, 16)
    return create_image(
        key=key, content=jpeg_bytes(width, height, color=(n * 37 % 256, n * 91 % 256, 120)), status=status, width=width, height=height
    )


def display_files(zone: str) -> dict[str, bytes]:
    folder = f"display/{zone}"
    if not default_storage.exists(folder):
        return {}
    return {f"{folder}/{name}": read_file(f"{folder}/{name}") for name in default_storage.listdir(folder)[1]}


def post(client, body):
    return client.post("/updateDisplay", body, format="json")


# --- who may call it ------------------------------------------------------------------------------


def test_anonymous_is_401_and_a_non_staff_session_403(api_client, django_user_model):
    image = make_image()
    body = {"zone": "zone1", "landscape": [image.key]}
    response = post(api_client, body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    api_client.force_login(django_user_model.objects.create_user("visitor"))
    assert post(api_client, body).status_code == 403
    assert display_files("zone1") == {}
    assert not DisplayZone.objects.exists()


def test_a_token_holder_may_update(token_client):
    image = make_image()
    response = post(token_client, {"zone": "zone1", "landscape": [image.key]})
    assert response.status_code == 200
    assert response.content == b"sucess"


# --- the copy ---------------------------------------------------------------------------------------


def test_copies_each_image_to_its_fixed_key_byte_for_byte(staff_client):
    landscape = [make_image() for _ in range(3)]
    portrait = [make_image(keys.PORTRAIT) for _ in range(2)]
    body = {"zone": "zone1", "landscape": [i.key for i in landscape], "portrait": [i.key for i in portrait]}
    response = post(staff_client, body)

    assert response.status_code == 200
    assert response.content == b"sucess"  # sic: the original's plain-text answer
    assert response["Content-Type"].startswith("text/plain")
    expected = {f"display/zone1/img{n}h.jpeg": read_file(i.key) for n, i in enumerate(landscape, 1)}
    expected |= {f"display/zone1/img{n}v.jpeg": read_file(i.key) for n, i in enumerate(portrait, 1)}
    assert display_files("zone1") == expected
    assert len(set(expected.values())) == 5  # five different files, each in its own slot
    zone = DisplayZone.objects.get(name="zone1")
    assert (zone.landscape, zone.portrait, zone.version) == (body["landscape"], body["portrait"], 1)
    assert zone.updated_by == staff_client.user


def test_a_new_list_replaces_its_side_and_an_omitted_side_stays(staff_client):
    first = [make_image() for _ in range(4)]
    portrait = make_image(keys.PORTRAIT)
    assert post(staff_client, {"zone": "zone2", "landscape": [i.key for i in first], "portrait": [portrait.key]}).status_code == 200
    second = make_image()
    assert post(staff_client, {"zone": "zone2", "landscape": [second.key, first[0].key]}).status_code == 200

    assert display_files("zone2") == {
        "display/zone2/img1h.jpeg": read_file(second.key),
        "display/zone2/img2h.jpeg": read_file(first[0].key),
        "display/zone2/img1v.jpeg": read_file(portrait.key),  # portrait omitted: left as it was
    }
    assert post(staff_client, {"zone": "zone2", "portrait": []}).status_code == 200
    assert set(display_files("zone2")) == {"display/zone2/img1h.jpeg", "display/zone2/img2h.jpeg"}
    assert DisplayZone.objects.get(name="zone2").version == 3


def test_every_change_is_in_the_admin_log(staff_client):
    image, other = make_image(), make_image()
    post(staff_client, {"zone": "zone1", "landscape": [image.key]})
    post(staff_client, {"zone": "zone1", "landscape": [other.key]})
    zone = DisplayZone.objects.get(name="zone1")
    entries = list(LogEntry.objects.filter(object_id=str(zone.pk)).order_by("id"))
    assert [e.action_flag for e in entries] == [ADDITION, CHANGE]
    assert all(e.user == staff_client.user for e in entries)
    assert image.key in entries[0].change_message
    assert other.key in entries[1].change_message
    assert "/updateDisplay" in entries[1].change_message


# --- validation: the offending value is named, nothing is written --------------------------------


@pytest.mark.parametrize("zone", ["", "Zone1", "zone 1", "../zone1", "zone1/..", "zone/1", "z" * 33, "-zone", 7, None, ["zone1"]])
def test_invalid_zone_names_are_400(staff_client, zone):
    image = make_image()
    response = post(staff_client, {"zone": zone, "landscape": [image.key]})
    assert response.status_code == 400
    assert "zone" in response.json()
    assert not DisplayZone.objects.exists()
    assert not default_storage.exists("display")


def test_the_number_of_zones_is_limited(staff_client, settings):
    settings.DISPLAY_MAX_ZONES = 2
    image = make_image()
    for zone in ("zone1", "zone2"):
        assert post(staff_client, {"zone": zone, "landscape": [image.key]}).status_code == 200
    response = post(staff_client, {"zone": "zone3", "landscape": [image.key]})
    assert response.status_code == 400
    assert "At most 2 display zones" in response.json()["zone"][0]
    assert display_files("zone3") == {}
    assert post(staff_client, {"zone": "zone2", "landscape": [image.key, image.key]}).status_code == 200  # existing ones still change


def test_an_unknown_key_is_404_naming_it(staff_client):
    good = make_image()
    unknown = "emotions/calm/spring,sunny,day/img_20230320-121242_99h.jpeg"
    response = post(staff_client, {"zone": "zone1", "landscape": [good.key, unknown]})
    assert response.status_code == 404
    assert unknown in response.json()["landscape"][0]
    assert display_files("zone1") == {}


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("POOL", "pool image"),
        ("emotions/calm/../../secret.jpeg", "not a plain storage key"),
        ("../../etc/passwd", "not a plain storage key"),
        ("/etc/passwd", "not a plain storage key"),
        ("emotions/calm/img_20230320-121242_1h.jpeg%00", "not a plain storage key"),
        ("display/zone1/img1h.jpeg", "not an image key"),
        ("emotions/calm/notes.txt", "not an image key"),
        ("emotions/calm/img_20230320-121242_1v.jpeg", "is portrait, not landscape"),
        ("e" * 600, "a key of 600 characters"),
        (42, "42 is not a key"),
        ({"key": "x"}, "is not a key"),
    ],
)
def test_bad_keys_are_400_naming_them(staff_client, item, named):
    good = make_image()
    if item == "POOL":
        item = make_image(status=Image.Status.POOL).key
    response = post(staff_client, {"zone": "zone1", "landscape": [good.key, item]})
    assert response.status_code == 400, response.content
    message = response.json()["landscape"][0]
    assert named in message
    assert message.startswith("item 2:")
    if isinstance(item, str) and len(item) < 100:
        assert repr(item) in message
    assert display_files("zone1") == {}
    assert not DisplayZone.objects.exists()


def test_more_than_eight_images_is_400(staff_client):
    image = make_image(keys.PORTRAIT)
    response = post(staff_client, {"zone": "zone1", "portrait": [image.key] * 9})
    assert response.status_code == 400
    assert "at most 8" in response.json()["portrait"][0]
    assert display_files("zone1") == {}


@pytest.mark.parametrize("body", [{"zone": "zone1"}, {"zone": "zone1", "landscape": "emotions/x.jpeg"}, ["zone1"], {"landscape": []}])
def test_malformed_bodies_are_400(staff_client, body):
    assert post(staff_client, body).status_code == 400
    assert not DisplayZone.objects.exists()


def test_old_clients_posting_text_plain_json_work(staff_client):
    image = make_image()
    response = staff_client.post("/updateDisplay", f'{{"zone": "zone1", "landscape": ["{image.key}"]}}', content_type="text/plain")
    assert response.status_code == 200
    assert display_files("zone1") == {"display/zone1/img1h.jpeg": read_file(image.key)}


# --- all-or-nothing --------------------------------------------------------------------------------


@pytest.fixture
def storage_fails_once(monkeypatch):
    """The n-th file write (counted from now) fails like a full disk; every other write succeeds."""
    real_save = FileSystemStorage._save
    calls = {"n": 0, "fail_at": None}

    def save(self, name, content):
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise OSError(28, "No space left on device")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", save)

    def arm(n: int) -> None:
        calls["n"], calls["fail_at"] = 0, n

    return arm


def test_a_storage_failure_mid_copy_leaves_the_previous_set(staff_client, storage_fails_once):
    before_l = [make_image() for _ in range(3)]
    before_p = [make_image(keys.PORTRAIT)]
    assert post(staff_client, {"zone": "zone1", "landscape": [i.key for i in before_l], "portrait": [before_p[0].key]}).status_code == 200
    files_before = display_files("zone1")
    zone_before = DisplayZone.objects.values().get(name="zone1")
    log_before = LogEntry.objects.count()

    after_l = [make_image() for _ in range(5)]
    after_p = [make_image(keys.PORTRAIT) for _ in range(2)]
    storage_fails_once(4)  # img1h, img2h, img3h written, then the disk is full at img4h
    response = post(staff_client, {"zone": "zone1", "landscape": [i.key for i in after_l], "portrait": [i.key for i in after_p]})

    assert response.status_code == 503
    assert "img4h.jpeg" in response.json()["detail"]
    assert display_files("zone1") == files_before  # same keys, same bytes: no half-written zone
    assert DisplayZone.objects.values().get(name="zone1") == zone_before
    assert LogEntry.objects.count() == log_before
    # The next try (storage healthy again) goes through.
    response = post(staff_client, {"zone": "zone1", "landscape": [i.key for i in after_l], "portrait": [i.key for i in after_p]})
    assert response.status_code == 200
    assert display_files("zone1")["display/zone1/img5h.jpeg"] == read_file(after_l[4].key)


def test_a_failure_on_a_new_zone_leaves_no_zone_and_no_files(staff_client, storage_fails_once):
    images = [make_image() for _ in range(3)]
    storage_fails_once(2)
    assert post(staff_client, {"zone": "zone1", "landscape": [i.key for i in images]}).status_code == 503
    assert display_files("zone1") == {}
    assert not DisplayZone.objects.exists()


def test_a_database_failure_after_the_copy_puts_the_files_back(staff_client, monkeypatch):
    old = make_image()
    assert post(staff_client, {"zone": "zone1", "landscape": [old.key]}).status_code == 200
    files_before = display_files("zone1")

    def broken_log(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(LogEntry.objects, "log_actions", broken_log)
    new = [make_image(), make_image()]
    with pytest.raises(RuntimeError):
        post(staff_client, {"zone": "zone1", "landscape": [i.key for i in new]})
    assert display_files("zone1") == files_before
    assert DisplayZone.objects.get(name="zone1").landscape == [old.key]
