"""Old devices' visitor ids: any string (or number) is the same visitor on every endpoint and in exports."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from PIL import Image

from garden.models import Visitor
from recommend import training
from recommend.models import ImageStat, Interaction, Recommendation
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db

LEGACY = "1234567890"


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.fixture(scope="module")
def astronaut_jpeg() -> bytes:
    data = pytest.importorskip("skimage.data")
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_legacy_id_is_one_visitor_from_emotion_to_the_exports(client, astronaut_jpeg, tmp_path):
    shown = [ImageFactory(emotion="happy") for _ in range(3)]
    keys = [image.key for image in shown]

    answer = client.post("/emotion", data=astronaut_jpeg, content_type="image/jpeg", headers={"X-user-id": LEGACY})
    assert answer.status_code == 200 and answer.json()["id"] == LEGACY  # echoed exactly as sent
    visitor = Visitor.objects.get(pk=LEGACY)
    assert (visitor.age_group, visitor.gender) == ("adult", "Female")

    garden = post(client, "/garden", {"id": int(LEGACY), "emotion": "happy"})  # a number: its decimal string
    assert garden.status_code == 200
    assert Recommendation.objects.get(pk=int(garden["X-Recommendation-Id"])).visitor_id == LEGACY

    assert post(client, "/like", {"id": LEGACY, "itemId": keys[0], "impression": keys}).status_code == 200
    assert post(client, "/impression", {"id": int(LEGACY), "impression": keys[1:]}).status_code == 200
    assert post(client, "/dislike", {"id": LEGACY, "itemId": keys[0]}).status_code == 200
    assert set(Interaction.objects.values_list("visitor_id", flat=True)) == {LEGACY}
    # The visitor's labels from /emotion decide the segment the events are counted in.
    assert ImageStat.objects.filter(segment="adult|female", image=shown[0]).get().impressions == 1

    call_command("export_datasets", str(tmp_path / "sets"), verbosity=0)
    users = list(csv.DictReader((tmp_path / "sets" / "users.csv").read_text().splitlines()))
    events = list(csv.DictReader((tmp_path / "sets" / "interactions.csv").read_text().splitlines()))
    assert [row["USER_ID"] for row in users] == [LEGACY]
    assert {row["USER_ID"] for row in events} == {LEGACY} and len(events) == 3

    call_command("export_garden", str(tmp_path / "garden"), verbosity=0)
    exported = (tmp_path / "garden").rglob("*.jsonl")
    assert any(f'"{LEGACY}"' in path.read_text() for path in exported)


def test_events_of_an_id_that_never_came_through_emotion_count_without_a_visitor_row(client):
    shown = [ImageFactory(emotion="calm") for _ in range(3)]
    keys = [image.key for image in shown]
    for device in ("kiosk-7", "kiosk-8"):
        assert post(client, "/like", {"id": device, "itemId": keys[1], "impression": keys}).status_code == 200
    assert not Visitor.objects.exists()
    assert Interaction.objects.filter(visitor_id="kiosk-7").count() == 1
    live = sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes"))
    assert ("*", shown[1].id, 2, 2) in live
    training.rebuild()  # the full recount reads them too, as visitors without labels
    assert sorted(ImageStat.objects.values_list("segment", "image_id", "impressions", "likes")) == live


@pytest.mark.parametrize("bad", [True, None, {"id": 1}, [1], "", " padded ", "x" * 65, "nul\x00"])
def test_ids_that_are_not_strings_or_numbers_are_a_400(client, bad):
    image = ImageFactory()
    response = post(client, "/like", {"id": bad, "itemId": image.key, "impression": [image.key]})
    assert response.status_code == 400, bad
    assert not Interaction.objects.exists()


def test_garden_refuses_a_boolean_id_instead_of_inventing_a_visitor(client):
    assert post(client, "/garden", {"id": True, "emotion": "calm"}).status_code == 400
    assert post(client, "/garden", {"id": "", "emotion": "calm"}).status_code == 200  # blank: anonymous, as before
