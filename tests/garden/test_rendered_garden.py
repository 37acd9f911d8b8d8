"""/gardenfromDB from the rendered cache: the same bytes, and every serving change in the very next answer."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from garden import selectors, services
from garden.models import Image
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db


def garden(client, emotion="calm", host="testserver"):
    return client.post("/gardenfromDB", data=json.dumps({"emotion": emotion}), content_type="application/json", HTTP_HOST=host)


def keys(response):
    return [item["url"].split("/media/", 1)[1] for side in ("landscape", "portrait") for item in response.json()[side]]


def test_the_answer_is_byte_identical_to_rendering_it_now(client, rf):
    for orientation in ("h", "v", "h"):
        ImageFactory(emotion="calm", favorite="spring,cloudy,day", orientation=orientation)
    first = garden(client, "calm/spring,cloudy,day")
    cached = garden(client, "calm/spring,cloudy,day")
    request = rf.post("/gardenfromDB")
    listing = {"landscape": [], "portrait": []}
    for image in selectors.serving_images(search_key="calm/spring,cloudy,day"):
        side = "portrait" if image.is_portrait else "landscape"
        listing[side].append({"url": selectors.image_url(image.key, request=request), "emotion": image.emotion})
    assert first.content == cached.content == JSONRenderer().render(listing)
    assert first["Content-Type"] == "application/json"
    assert b",cloudy," in first.content  # commas stay literal in URLs


def test_a_cached_answer_costs_one_version_read(client):
    ImageFactory(emotion="calm")
    garden(client)
    with CaptureQueriesContext(connection) as queries:
        assert garden(client).status_code == 200
    assert len(queries) == 1 and "version" in queries[0]["sql"]


def test_promotion_demotion_rejection_and_reimport_show_in_the_very_next_answer(client):
    serving = ImageFactory(emotion="calm")
    pool = ImageFactory(emotion="calm", status=Image.Status.POOL)
    assert keys(garden(client)) == [serving.key]

    promoted = services.promote_image(image=pool)
    assert set(keys(garden(client))) == {serving.key, promoted.key}

    services.demote_image(image=promoted)
    assert keys(garden(client)) == [serving.key]

    services.reject_image(image=Image.objects.get(pk=serving.pk))
    assert keys(garden(client)) == []

    reimported = ImageFactory(emotion="calm")
    assert keys(garden(client)) == [reimported.key]
    services.rewrite_image(image=reimported, content=b"new bytes", status=Image.Status.POOL)  # an import that says "pool"
    assert keys(garden(client)) == []


def test_each_site_address_gets_its_own_absolute_urls(client, settings):
    settings.ALLOWED_HOSTS = ["kiosk-a.example", "kiosk-b.example"]
    ImageFactory(emotion="calm")
    a = garden(client, host="kiosk-a.example").json()["landscape"][0]["url"]
    b = garden(client, host="kiosk-b.example").json()["landscape"][0]["url"]
    assert a.startswith("http://kiosk-a.example/media/") and b.startswith("http://kiosk-b.example/media/")


def test_a_rolled_back_change_restores_the_version_it_started_from(client):
    from django.db import transaction

    before = selectors.serving_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.serving_changed()
        assert selectors.serving_version() != before
        raise RuntimeError
    assert selectors.serving_version() == before
