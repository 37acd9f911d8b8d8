"""The kiosk feedback and garden endpoints, end to end through the test client."""

import json
import uuid

import pytest
from rest_framework.renderers import JSONRenderer

from garden.models import Visitor
from recommend.models import FavoriteStat, ImageStat, Interaction, Recommendation
from tests.factories import ImageFactory, VisitorFactory

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def keys_of(listing):
    return [item["url"].split("/media/", 1)[1] for side in ("landscape", "portrait") for item in listing[side]]


def test_empty_garden_without_any_feedback(client):
    response = post(client, "/garden", {"id": str(uuid.uuid4()), "emotion": "calm"})
    assert response.status_code == 200
    assert response.json() == {"landscape": [], "portrait": []}
    assert Recommendation.objects.filter(pk=int(response["X-Recommendation-Id"])).exists()


def test_garden_body_keeps_legacy_keys_and_header_carries_recommendation(client):
    images = [ImageFactory(emotion="calm") for _ in range(7)]
    response = post(client, "/garden", {"id": "not-a-uuid", "emotion": "calm", "generation": "adult", "gender": "Male"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"landscape", "portrait"}
    assert response.content == JSONRenderer().render(body)  # assembled from cached entries, byte for byte DRF's format
    assert sorted(keys_of(body)) == sorted(image.key for image in images)
    recommendation = Recommendation.objects.get(pk=int(response["X-Recommendation-Id"]))
    ids = {image.key: image.id for image in images}
    assert recommendation.image_ids == [ids[key] for key in keys_of(body)]  # all 7: fewer than 12 per orientation
    assert recommendation.search_key == "calm" and recommendation.visitor_id == "not-a-uuid"
    assert recommendation.ranker.startswith("counting-v0")


def test_garden_renders_only_the_entries_it_returns_and_keeps_them(client, settings, monkeypatch):
    """A key's candidates outnumber an answer (500 against 100 per orientation at 400k images):
    only what an answer returns is rendered, once per serving version, byte for byte DRF's format."""
    from garden import selectors as garden_selectors

    settings.RECOMMEND_MAX_RESULTS = 2
    for orientation in "hhhhvvv":
        ImageFactory(emotion="calm", orientation=orientation)
    rendered = []
    plain = garden_selectors.listing_renderer

    def counting_renderer(request):
        render = plain(request)
        return lambda key, emotion: rendered.append(key) or render(key, emotion)

    monkeypatch.setattr(garden_selectors, "listing_renderer", counting_renderer)
    first = post(client, "/garden", {"id": "v1", "emotion": "calm"})
    assert first.content == JSONRenderer().render(first.json())
    assert sorted(rendered) == sorted(keys_of(first.json())) and len(rendered) == 4  # 2 of each orientation, of 7
    again = post(client, "/garden", {"id": "v2", "emotion": "calm"})
    assert again.content == JSONRenderer().render(again.json())
    assert len(rendered) == len(set(rendered)) and set(rendered) == set(keys_of(first.json())) | set(keys_of(again.json()))


def test_garden_filters_by_search_key_and_falls_back_to_the_emotion(client, settings):
    settings.RECOMMEND_MIN_RESULTS = 3
    wanted = [ImageFactory(emotion="happy", favorite="spring,cloudy,day") for _ in range(3)]
    ImageFactory(emotion="happy", favorite="cat")
    ImageFactory(emotion="sad")
    body = post(client, "/garden", {"emotion": "happy/spring,cloudy,day"}).json()
    assert sorted(keys_of(body)) == sorted(i.key for i in wanted)

    one = ImageFactory(emotion="calm", favorite="winter,snowy,day")
    other_calm = ImageFactory(emotion="calm", favorite="cat")
    body = post(client, "/garden", {"emotion": "calm/winter,snowy,day"}).json()
    got = keys_of(body)
    # The favorite first, then the rest of its emotion (newest first without feedback), never other emotions.
    assert got == [one.key, other_calm.key]
    body = post(client, "/garden", {"emotion": "sad"}).json()
    assert len(keys_of(body)) == 1

    assert post(client, "/garden", {"emotion": "bored"}).status_code == 400


def test_impression_like_dislike_endpoints_and_counters(client):
    visitor = VisitorFactory(age_group="adult", gender="Female")
    a, b, c = (ImageFactory(emotion="calm") for _ in range(3))
    rec_id = post(client, "/garden", {"id": str(visitor.id), "emotion": "calm"})["X-Recommendation-Id"]

    response = post(
        client, "/impression", {"id": str(visitor.id), "impression": [a.key, f"https://host/media/{b.key}"], "recommendationId": rec_id}
    )
    assert response.status_code == 200 and response.content == b"Success"
    assert response["Content-Type"].startswith("text/plain")
    row = Interaction.objects.get(event_type="impression")
    assert row.impression == [a.key, b.key] and row.recommendation_id == int(rec_id)

    response = post(
        client, "/like", {"id": str(visitor.id), "itemId": c.key, "impression": [a.key, b.key, c.key], "recommendationId": rec_id}
    )
    assert response.status_code == 200 and response.content == b"Success"
    stat = {(s.segment, s.image_id): s for s in ImageStat.objects.all()}
    assert (stat[("*", a.id)].impressions, stat[("*", a.id)].likes) == (2, 0)
    assert (stat[("*", c.id)].impressions, stat[("*", c.id)].likes) == (1, 1)
    assert stat[("adult|female", c.id)].likes == 1
    assert FavoriteStat.objects.get(segment="*", search_key="calm").impressions == 5

    response = post(client, "/dislike", {"id": str(visitor.id), "itemId": c.key})
    assert response.status_code == 200 and response.content == b"Success"
    assert ImageStat.objects.get(segment="*", image=c).likes == 0
    assert ImageStat.objects.get(segment="*", image=c).dislikes == 1
    # A second dislike has no like left to undo.
    post(client, "/dislike", {"id": str(visitor.id), "itemId": c.key})
    assert ImageStat.objects.get(segment="*", image=c).likes == 0

    body = post(client, "/garden", {"id": str(visitor.id), "emotion": "calm"}).json()
    assert c.key not in keys_of(body)  # dislikes are honoured


def test_feedback_endpoints_validate(client):
    visitor_id = str(uuid.uuid4())
    assert post(client, "/impression", {"id": visitor_id, "impression": []}).status_code == 400
    assert post(client, "/impression", {"id": True, "impression": ["a"]}).status_code == 400
    assert post(client, "/dislike", {"id": visitor_id, "itemId": "emotions/calm/img_20230320-121242_6h.jpeg"}).status_code == 404
    assert client.post("/impression", data="{nope", content_type="application/json").status_code == 400
    # A screen of unknown keys has nothing to count: answered (old clients), nothing stored.
    response = post(client, "/impression", {"id": visitor_id, "impression": ["emotions/calm/x.jpeg"], "recommendationId": "99999"})
    assert response.status_code == 200
    assert not Interaction.objects.exists() and not ImageStat.objects.exists()
    # Known keys are stored and counted, unknown ones dropped with a count; a bad recommendation id is dropped.
    image = ImageFactory(emotion="calm")
    response = post(client, "/impression", {"id": visitor_id, "impression": [image.key, "emotions/calm/x.jpeg"], "recommendationId": "99"})
    row = Interaction.objects.get()
    assert (row.impression, row.unknown_keys, row.recommendation_id) == ([image.key], 1, None)
    # Events never create visitors: only /emotion does.
    assert not Visitor.objects.filter(pk=visitor_id).exists()


def test_openapi_documents_feedback_endpoints(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/impression", "/dislike", "/like"):
        assert f"{path}:" in schema or f'"{path}"' in schema
