"""/garden reads the serving version, the visitor's labels and their history in one statement
(recommend.selectors.garden_context), and a serving change still shows in the very next answer."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from garden import selectors as garden_selectors
from garden import services as garden_services
from garden.models import Image
from recommend import selectors
from tests.factories import ImageFactory, VisitorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process would share, so counters are kept between requests (as on Redis)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}


def garden(client, visitor_id, emotion="calm"):
    response = client.post("/garden", json.dumps({"id": visitor_id, "emotion": emotion}), content_type="application/json")
    assert response.status_code == 200
    return [item["url"].split("/media/", 1)[1] for side in ("landscape", "portrait") for item in response.json()[side]]


def test_a_steady_answer_is_one_read_and_the_attribution_insert(client, shared_cache):
    ImageFactory(emotion="calm")
    visitor = str(uuid.uuid4())
    garden(client, visitor)  # candidates and counters are now kept
    with CaptureQueriesContext(connection) as queries:
        garden(client, visitor)
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 2, statements
    assert "garden_servingstate" in statements[0] and "recommend_interaction" in statements[0]
    assert statements[1].startswith("INSERT INTO recommend_recommendation")


def test_the_context_holds_the_version_the_labels_and_the_history(client):
    image = ImageFactory(emotion="calm")
    visitor = VisitorFactory(age_group="adult", gender="Female")
    body = {"id": str(visitor.id), "itemId": image.key, "impression": [image.key]}
    assert client.post("/like", json.dumps(body), content_type="application/json").status_code == 200

    context = selectors.garden_context(visitor_id=str(visitor.id))
    assert context.serving_version == garden_selectors.serving_version() != ""
    assert context.segment == selectors.visitor_context(visitor_id=str(visitor.id))[0] != "*"
    assert context.history.liked == {image.key}
    anonymous = selectors.garden_context(visitor_id=None, age_group="adult", gender="Female")
    assert (anonymous.serving_version, anonymous.segment, anonymous.history.liked) == (context.serving_version, context.segment, set())


def test_a_serving_change_shows_in_the_very_next_answer(client, shared_cache):
    serving = ImageFactory(emotion="calm")
    pool = ImageFactory(emotion="calm", status=Image.Status.POOL)
    visitor = str(uuid.uuid4())
    assert garden(client, visitor) == [serving.key]
    promoted = garden_services.promote_image(image=pool)
    assert set(garden(client, visitor)) == {serving.key, promoted.key}
    garden_services.demote_image(image=promoted)
    assert garden(client, visitor) == [serving.key]
