"""The kiosk garden endpoints: exact wire format, ordering, and bad input → 4xx."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from garden.models import Image
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/gardenfromDB", "/garden"]


def post_json(client, path, body, **extra):
    return client.post(path, data=json.dumps(body), content_type="application/json", **extra)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_returns_serving_images_of_search_key_split_by_orientation(client, path):
    landscape = ImageFactory(emotion="calm", orientation="h")
    portrait = ImageFactory(emotion="calm", orientation="v")
    ImageFactory(emotion="calm", favorite="spring,cloudy,day")  # other search key
    ImageFactory(emotion="happy")  # other emotion
    ImageFactory(emotion="calm", status=Image.Status.POOL)  # not serving

    response = post_json(client, path, {"id": "47f9eeb5-4252-435e-a1c9-b4a936f015ae", "emotion": "calm", "generation": "adult"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"landscape", "portrait"}
    assert body["landscape"] == [{"url": f"http://testserver/media/{landscape.key}", "emotion": "calm"}]
    assert body["portrait"] == [{"url": f"http://testserver/media/{portrait.key}", "emotion": "calm"}]


def test_url_ends_with_key_so_clients_can_cut_it_out(client):
    image = ImageFactory(emotion="sad", favorite="winter,snowy,the-middle-of-the-night")
    url = post_json(client, "/gardenfromDB", {"emotion": "sad/winter,snowy,the-middle-of-the-night"}).json()["landscape"][0]["url"]
    assert url[url.rindex("emotions") :] == image.key


def test_garden_from_db_is_newest_first_and_complete(client):
    now = timezone.now()
    images = [ImageFactory(emotion="happy", created_at=now - timedelta(minutes=i)) for i in range(30)]
    body = post_json(client, "/gardenfromDB", {"emotion": "happy"}).json()
    assert [item["url"].split("/media/")[1] for item in body["landscape"]] == [image.key for image in images]


def test_public_base_url_builds_cdn_urls(client, settings):
    settings.GARDEN_PUBLIC_BASE_URL = "https://cdn.example.org/garden/"
    image = ImageFactory(emotion="fear")
    body = post_json(client, "/gardenfromDB", {"emotion": "fear"}).json()
    assert body["landscape"][0]["url"] == f"https://cdn.example.org/garden/{image.key}"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_empty_garden_is_200_with_empty_lists(client, path):
    response = post_json(client, path, {"emotion": "confused"})
    assert response.status_code == 200
    assert response.json() == {"landscape": [], "portrait": []}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_json_sent_as_text_plain_is_accepted(client, path):
    """Old kiosk pages call fetch() with a string body and no Content-Type header."""
    ImageFactory(emotion="angry")
    response = client.post(path, data='{"emotion": "ANGRY"}', content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200
    assert len(response.json()["landscape"]) == 1


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"emotion": "happy"', "Malformed JSON"),
        ("[1, 2]", "JSON object"),
        ("{}", "emotion"),
        ('{"emotion": "bored"}', "Unknown emotion 'bored'"),
        ('{"emotion": 5}', "emotion"),
        ('{"emotion": "happy/../../etc"}', "favorite"),
        ("\xff\xfe", "Malformed JSON"),
    ],
)
def test_bad_bodies_get_400_with_a_clear_message(client, path, body, message):
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("path", [*ENDPOINTS, "/like"])
def test_oversized_body_gets_413(client, path, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(path, data=json.dumps({"emotion": "happy", "pad": "x" * 5000}), content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize("path", [*ENDPOINTS, "/like"])
def test_wrong_method_gets_405(client, path):
    assert client.get(path).status_code == 405


@pytest.mark.parametrize("path", [*ENDPOINTS, "/like"])
def test_paths_work_without_trailing_slash_and_without_csrf(path):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(path, data="{}", content_type="application/json")
    assert response.status_code == 400  # reached the view: no redirect, no CSRF 403


def test_kiosk_rate_limit_is_configurable(client, settings):
    settings.GARDEN_KIOSK_RATE = "2/minute"
    codes = [post_json(client, "/gardenfromDB", {"emotion": "happy"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_rotating_x_forwarded_for_cannot_escape_the_limit(client, settings):
    settings.GARDEN_KIOSK_RATE = "2/minute"
    codes = [post_json(client, "/gardenfromDB", {"emotion": "happy"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(4)]
    assert codes == [200, 200, 429, 429]  # no trusted proxy (the default): the socket address counts


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(client, settings):
    settings.GARDEN_KIOSK_RATE = "2/minute"
    settings.GARDEN_TRUSTED_PROXIES = 1

    def call(forwarded):
        return post_json(client, "/gardenfromDB", {"emotion": "happy"}, HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert [call("203.0.113.7"), call("203.0.113.8"), call("203.0.113.7")] == [200, 200, 200]
    # What the client wrote before the proxy's entry is not trusted: rotating it does not help.
    assert [call(f"10.9.9.{n}, 203.0.113.7") for n in range(2)] == [429, 429]


def test_openapi_schema_is_served(client):
    response = client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert {"/gardenfromDB", "/garden", "/like"} <= set(paths)
